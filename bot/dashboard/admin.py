"""Admin pages: staff accounts (role, areas, password, active, target) and the audit log."""

from __future__ import annotations

from sqlalchemy import delete, select
from starlette.responses import Response

from bot.dashboard import auth
from bot.dashboard.web import ALL_ROLES, Ctx, Dashboard
from content import regions
from storage import repositories as repo
from storage.dashboard_models import CoordinatorTarget
from storage.models import AuditLog, Staff, StaffArea

AUDIT_PAGE = 100
ADMIN = ("admin",)


class _Bad(ValueError):
    pass


def _areas(ctx: Ctx, text: str) -> list[str]:
    codes = list(dict.fromkeys(text.replace(",", " ").split()))
    for code in codes:
        if regions.get(code) is None:
            raise _Bad(ctx.t("bad_area", code=code))
    return codes


def _target(ctx: Ctx, text: str) -> int | None:
    cleaned = text.replace(".", "").replace(" ", "")
    if not cleaned:
        return None
    if not cleaned.isdigit():
        raise _Bad(ctx.t("error_field", field=ctx.t("coordinator_target")))
    return int(cleaned)


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    async def _render_list(ctx: Ctx, status_code: int = 200, error: str | None = None) -> Response:
        async with dash.runtime.db.session() as session:
            staff = list((await session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.name, Staff.id))).all())
            targets = {t.staff_id: t.target for t in await session.scalars(select(CoordinatorTarget))}
        return ctx.render("staff.html", status_code=status_code, members=staff, targets=targets, error=error, roles=ALL_ROLES)

    async def staff_list(ctx: Ctx) -> Response:
        return await _render_list(ctx)

    async def staff_add(ctx: Ctx) -> Response:
        name = " ".join(ctx.field("name").split())[:120]
        role = ctx.field("role")
        password = ctx.field("password")
        try:
            if len(name) < 2 or role not in ALL_ROLES:
                raise _Bad(ctx.t("error_field", field=ctx.t("name")))
            if len(password) < auth.MIN_PASSWORD:
                raise _Bad(ctx.t("password_short"))
            areas = _areas(ctx, ctx.field("areas"))
            target = _target(ctx, ctx.field("target"))
        except _Bad as exc:
            return await _render_list(ctx, 400, str(exc))
        password_hash = await auth.hashed(password)
        async with dash.runtime.db.session() as session:
            if await auth.name_taken(session, name):
                taken = True
            else:
                taken = False
                staff = await repo.add_staff(session, name=name, role=role, areas=areas, password_hash=password_hash)
                if target is not None:
                    session.add(CoordinatorTarget(staff_id=staff.id, target=target))
                await repo.audit(session, ctx.actor, "staff_added", staff_id=staff.id, role=role, areas=areas)
        if taken:
            return await _render_list(ctx, 409, ctx.t("name_taken"))
        return ctx.redirect("/staff")

    async def staff_edit(ctx: Ctx) -> Response:
        staff_id = int(ctx.request.path_params["staff_id"])
        role = ctx.field("role")
        password = ctx.field("password")
        active = ctx.field("active") == "yes"
        try:
            if role not in ALL_ROLES:
                raise _Bad(ctx.t("error_field", field=ctx.t("role")))
            if password and len(password) < auth.MIN_PASSWORD:
                raise _Bad(ctx.t("password_short"))
            areas = _areas(ctx, ctx.field("areas"))
            target = _target(ctx, ctx.field("target"))
        except _Bad as exc:
            return await _render_list(ctx, 400, str(exc))
        password_hash = await auth.hashed(password) if password else None
        async with dash.runtime.db.session() as session:
            staff = await session.get(Staff, staff_id)
            if staff is None:
                return ctx.error(404, "not_found")
            changes: dict[str, object] = {}
            if staff.role != role:
                changes["role"] = [staff.role, role]
                staff.role = role
            if staff.active != active:
                changes["active"] = active
                staff.active = active
                if not active:
                    await auth.end_sessions(session, staff.id)
            old_areas = sorted(a.area_code for a in staff.areas)
            if old_areas != sorted(areas):
                changes["areas"] = areas
                await session.execute(delete(StaffArea).where(StaffArea.staff_id == staff.id))
                session.add_all(StaffArea(staff_id=staff.id, area_code=code) for code in areas)
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
            if changes:
                await repo.audit(session, ctx.actor, "staff_changed", staff_id=staff.id, **changes)
        return ctx.redirect("/staff")

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


