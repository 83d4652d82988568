"""Admin pages: staff accounts (role, areas, chat contacts, password, active, target) and the audit log.

A staff member's chat contacts are one field per channel that names staff (the registry's
SPEC.staff_identity: its field, label and check), kept in storage.models.StaffIdentity.

A form with a mistake comes back with what was typed and the mistake named. Areas are picked by
name from a searchable list (kabupaten/kota, then its kecamatan) whose values keep the codes.
When a coordinator's areas or standing change, the leads are assigned again (storage/assignment.py)
and the page says how many moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from bot.channels import registry
from bot.dashboard import auth
from bot.dashboard.web import ALL_ROLES, Ctx, Dashboard
from content import regions
from storage import assignment
from storage import repositories as repo
from storage.dashboard_models import CoordinatorTarget
from storage.models import AuditLog, Staff, StaffArea

AUDIT_PAGE = 100
ADMIN = ("admin",)
_CODE = re.compile(r"(?:^|\()(\d{4}|\d{6})\)?$")


class _Bad(ValueError):
    pass


def area_label(code: str) -> str:
    """An area as the picker shows it: "Kota Serang (3673)", "Kota Serang › Kasemen (367302)"."""
    region = regions.get(code)
    if region is None:
        return code
    if not region.is_kecamatan:
        return f"{region.name} ({code})"
    kabkota = regions.get(code[:4])
    return f"{kabkota.name if kabkota else code[:4]} › {region.name} ({code})"


def area_options() -> list[str]:
    return [area_label(r.code) for k in regions.kabkota_list() for r in (k, *regions.kecamatan_of(k.code))]


def _area_code(ctx: Ctx, text: str) -> str:
    """A code from what the picker put in the field (a label ending in its code), a bare code, or a
    name: "Kasemen", "kota serang", "lebak", "Kota Serang › Kasemen". A name two areas share
    ("Curug") is refused: the list tells them apart."""
    text = " ".join(text.split())
    match = _CODE.search(text)
    if match and regions.get(match.group(1)) is not None:
        return match.group(1)
    wanted = text.casefold()
    found = {
        r.code
        for k in regions.kabkota_list()
        for r in (k, *regions.kecamatan_of(k.code))
        if wanted in (r.name.casefold(), area_label(r.code).casefold().rsplit(" (", 1)[0])
    }
    if len(found) == 1:
        return found.pop()
    kabkota = regions.match_kabkota(text) if not found else None  # "lebak", "kab serang"
    if kabkota is not None:
        return kabkota.code
    raise _Bad(ctx.t("bad_area", code=text))


@dataclass(slots=True)
class StaffForm:
    """What the admin typed, kept to fill the form again when something is wrong."""

    name: str = ""
    role: str = "coordinator"
    areas: list[str] = field(default_factory=list)  # as typed or picked
    contacts: dict[str, str] = field(default_factory=dict)  # channel -> as typed (or as stored)
    target: str = ""
    active: bool = True
    contacts_sent: bool = False  # the form had the contact fields (scripts may leave them out)

    @classmethod
    def read(cls, ctx: Ctx) -> StaffForm:
        assert ctx.form is not None
        typed = [v.strip() for v in ctx.form.getlist("area") if isinstance(v, str) and v.strip()]
        typed += ctx.field("areas").replace(",", " ").split()  # codes typed in one field, as before
        kinds = registry.staff_identities()
        return cls(
            name=" ".join(ctx.field("name").split())[:120], role=ctx.field("role"), areas=typed,
            contacts={c: ctx.field(kind.form_field) for c, kind in kinds.items()}, target=ctx.field("target"),
            active=ctx.field("active") == "yes",
            contacts_sent=any(kind.form_field in ctx.form for kind in kinds.values()),
        )  # fmt: skip

    @classmethod
    def of(cls, staff: Staff, target: int | None) -> StaffForm:
        return cls(
            name=staff.name, role=staff.role, areas=[area_label(a.area_code) for a in staff.areas],
            contacts={c: staff.identity(c) or "" for c in registry.staff_identities()},
            target=str(target) if target is not None else "", active=staff.active, contacts_sent=True,
        )  # fmt: skip

    def area_codes(self, ctx: Ctx) -> list[str]:
        return list(dict.fromkeys(_area_code(ctx, text) for text in self.areas))

    def identities(self, ctx: Ctx) -> dict[str, str | None]:
        """Channel -> the identity typed for it, in stored form (None: none)."""
        found: dict[str, str | None] = {}
        for channel, kind in registry.staff_identities().items():
            typed = self.contacts.get(channel, "")
            try:
                found[channel] = kind.parse(typed) if typed else None
            except ValueError:
                raise _Bad(ctx.t(kind.invalid)) from None
        return found

    def target_value(self, ctx: Ctx) -> int | None:
        cleaned = self.target.replace(".", "").replace(" ", "")
        if not cleaned:
            return None
        if not cleaned.isdigit():
            raise _Bad(ctx.t("error_field", field=ctx.t("coordinator_target")))
        return int(cleaned)


async def _contact_taken(session: AsyncSession, staff_id: int | None, identities: dict[str, str | None]) -> bool:
    """Whether another staff member has one of these identities (one person per chat)."""
    for channel, value in identities.items():
        if value is not None and (await repo.identity_owner(session, channel, value)) not in (None, staff_id):
            return True
    return False


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    async def _render_list(
        ctx: Ctx, status_code: int = 200, error: str | None = None, typed: StaffForm | None = None,
        typed_for: int | None = None,
    ) -> Response:  # fmt: skip
        async with dash.runtime.db.session() as session:
            staff = list(
                (await session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.name, Staff.id))).all()
            )
            targets = {t.staff_id: t.target for t in await session.scalars(select(CoordinatorTarget))}
            locked = await auth.locked_names(session)
        forms = {m.id: StaffForm.of(m, targets.get(m.id)) for m in staff}
        if typed_for is not None and typed is not None:
            forms[typed_for] = typed
        add_form = typed if typed_for is None and typed is not None else StaffForm()
        return ctx.render(
            "staff.html", status_code=status_code, members=staff, forms=forms, add_form=add_form, error=error,
            error_for=typed_for if typed is not None else None, roles=ALL_ROLES, area_options=area_options(),
            identity_kinds=registry.staff_identities(),
            locked={m.id for m in staff if auth.name_key(m.name) in locked}, notice=_notice(ctx),
        )  # fmt: skip

    def _notice(ctx: Ctx) -> list[str]:
        """What the last save did to the leads, from the redirect's query (numbers only)."""
        notes = []
        for key in ("picked_up", "passed_on", "pooled"):
            value = ctx.request.query_params.get(key, "")
            if value.isdigit() and int(value):
                notes.append(ctx.t(f"leads_{key}", count=int(value), n=int(value)))
        return notes

    def _after_save(moves: assignment.Moves) -> str:
        query = "&".join(f"{k}={v}" for k, v in moves.as_dict().items() if v)
        return "/staff" + (f"?{query}" if query else "")

    async def staff_list(ctx: Ctx) -> Response:
        return await _render_list(ctx)

    async def staff_add(ctx: Ctx) -> Response:
        typed = StaffForm.read(ctx)
        password = ctx.field("password")
        try:
            if len(typed.name) < 2:
                raise _Bad(ctx.t("error_field", field=ctx.t("name")))
            if typed.role not in ALL_ROLES:
                raise _Bad(ctx.t("error_field", field=ctx.t("role")))
            if len(password) < auth.MIN_PASSWORD:
                raise _Bad(ctx.t("password_short"))
            areas = typed.area_codes(ctx)
            identities = typed.identities(ctx)
            target = typed.target_value(ctx)
        except _Bad as exc:
            return await _render_list(ctx, 400, str(exc), typed)
        password_hash = await auth.hashed(password)
        async with dash.runtime.db.session() as session:
            if await auth.name_taken(session, typed.name):
                return await _render_list(ctx, 409, ctx.t("name_taken"), typed)
            if await _contact_taken(session, None, identities):
                return await _render_list(ctx, 409, ctx.t("contact_taken"), typed)
            staff = await repo.add_staff(
                session, name=typed.name, role=typed.role, areas=areas, password_hash=password_hash,
                identities=identities,
            )  # fmt: skip
            if target is not None:
                session.add(CoordinatorTarget(staff_id=staff.id, target=target))
            moves = (
                await assignment.pick_up(session, areas, by_staff_id=ctx.me.id)
                if typed.role == "coordinator"
                else assignment.Moves()
            )
            moved = {"leads": moves.as_dict()} if moves else {}
            await repo.audit(session, ctx.actor, "staff_added", staff_id=staff.id, role=typed.role, areas=areas,
                             **{c: bool(v) for c, v in identities.items()}, **moved)  # fmt: skip
        return ctx.redirect(_after_save(moves))

    async def staff_edit(ctx: Ctx) -> Response:
        staff_id = int(ctx.request.path_params["staff_id"])
        typed = StaffForm.read(ctx)
        password = ctx.field("password")
        try:
            if typed.role not in ALL_ROLES:
                raise _Bad(ctx.t("error_field", field=ctx.t("role")))
            if password and len(password) < auth.MIN_PASSWORD:
                raise _Bad(ctx.t("password_short"))
            areas = typed.area_codes(ctx)
            identities = typed.identities(ctx)
            target = typed.target_value(ctx)
        except _Bad as exc:
            return await _render_list(ctx, 400, str(exc), typed, staff_id)
        password_hash = await auth.hashed(password) if password else None
        async with dash.runtime.db.session() as session:
            staff = await session.get(Staff, staff_id)
            if staff is None:
                return ctx.error(404, "not_found")
            if typed.contacts_sent and await _contact_taken(session, staff.id, identities):
                return await _render_list(ctx, 409, ctx.t("contact_taken"), typed, staff_id)
            changes: dict[str, object] = {}
            before = (staff.active, staff.role, {a.area_code for a in staff.areas})
            if staff.role != typed.role:
                changes["role"] = [staff.role, typed.role]
                staff.role = typed.role
            if staff.active != typed.active:
                changes["active"] = typed.active
                staff.active = typed.active
                if not typed.active:
                    await auth.end_sessions(session, staff.id)
            if before[2] != set(areas):
                changes["areas"] = areas
                kept = [a for a in staff.areas if a.area_code in areas]  # the others are deleted (orphans)
                staff.areas = kept + [StaffArea(area_code=code) for code in areas if code not in before[2]]
            if typed.contacts_sent and repo.set_identities(staff, identities):
                changes["contacts"] = {c: bool(v) for c, v in identities.items()}
            if password_hash:
                changes["password"] = "changed"
                staff.password_hash = password_hash
                # A reset is how an admin helps someone locked out: the new password works at once,
                # and whoever held the old one is logged out everywhere.
                await auth.clear_failures(session, auth.name_key(staff.name))
                await auth.end_sessions(session, staff.id)
            existing = await session.get(CoordinatorTarget, staff.id)
            if target is None and existing is not None:
                await session.delete(existing)
                changes["target"] = None
            elif target is not None and (existing is None or existing.target != target):
                changes["target"] = target
                if existing is None:
                    session.add(CoordinatorTarget(staff_id=staff.id, target=target))
                else:
                    existing.target = target
            moves = assignment.Moves()
            if before != (staff.active, staff.role, set(areas)):
                moves = await assignment.release(session, staff.id, by_staff_id=ctx.me.id)
                if staff.active and staff.role == "coordinator":
                    moves += await assignment.pick_up(session, areas, by_staff_id=ctx.me.id)
            if moves:
                changes["leads"] = moves.as_dict()
            if changes:
                await repo.audit(session, ctx.actor, "staff_changed", staff_id=staff.id, **changes)
        return ctx.redirect(_after_save(moves))

    async def staff_unlock(ctx: Ctx) -> Response:
        """Forget the failed logins of an account, from every address."""
        async with dash.runtime.db.session() as session:
            staff = await session.get(Staff, int(ctx.request.path_params["staff_id"]))
            if staff is None:
                return ctx.error(404, "not_found")
            await auth.clear_failures(session, auth.name_key(staff.name))
            await repo.audit(session, ctx.actor, "staff_unlocked", staff_id=staff.id)
        return ctx.redirect("/staff")

    async def audit_log(ctx: Ctx) -> Response:
        try:
            before = int(ctx.request.query_params.get("before", "0")) or None
        except ValueError:
            before = None
        query = select(AuditLog).order_by(AuditLog.id.desc()).limit(AUDIT_PAGE + 1)
        if before:
            query = query.where(AuditLog.id < before)
        async with dash.runtime.db.session() as session:
            rows = list((await session.scalars(query)).all())
        more = len(rows) > AUDIT_PAGE
        rows = rows[:AUDIT_PAGE]
        return ctx.render("audit.html", rows=rows, older=rows[-1].id if more and rows else None)

    return [
        dash.route("/staff", staff_list, roles=ADMIN),
        dash.route("/staff/add", staff_add, roles=ADMIN, methods=("POST",)),
        dash.route("/staff/{staff_id:int}", staff_edit, roles=ADMIN, methods=("POST",)),
        dash.route("/staff/{staff_id:int}/unlock", staff_unlock, roles=ADMIN, methods=("POST",)),
        dash.route("/audit", audit_log, roles=ADMIN),
    ]
