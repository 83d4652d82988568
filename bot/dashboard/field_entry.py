"""Field entry: a coordinator adds a worker they met, from their phone.

The same questions and checks as the worker's own form in chat (handlers/validators.py, the
region list, the occupations, the calculator), the NIK encrypted and hashed the same way. The
consent is recorded as given in person to that coordinator: a note on the lead and an audit entry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from starlette.responses import Response

from bot.dashboard.web import Ctx, Dashboard
from content import regions
from handlers import calculator, lead_quality, occupations, validators
from handlers.nlu import entities
from handlers.redact import mask_nik
from storage import repositories as repo
from storage import scope
from storage.models import Lead, LeadEvent

FIELDS = ("name", "nik", "dob", "phone", "kecamatan", "occupation", "income", "programmes", "continue_via")
CONSENT_VERSION = "in-person-1"


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _check(ctx: Ctx, values: dict[str, str]) -> dict[str, object]:
    """The cleaned answers, or FieldError naming the first wrong one."""
    today = ctx.dash.today()

    def bad(field: str, key: str = "error_field") -> FieldError:
        label = ctx.t({"continue_via": "continue_via", "dob": "birth_date"}.get(field, field))
        return FieldError(field, ctx.t(key, field=label))

    try:
        name = validators.parse_name(values["name"])
    except validators.Invalid:
        raise bad("name") from None
    try:
        info = validators.parse_nik(values["nik"])
    except validators.Invalid:
        raise bad("nik") from None
    try:
        born = validators.parse_date(values["dob"], today)
    except validators.Invalid:
        raise bad("dob") from None
    if not validators.nik_matches_birth_date(info, born):
        raise bad("dob")
    try:
        phone = validators.parse_phone(values["phone"])
    except validators.Invalid:
        raise bad("phone") from None
    region = regions.get(values["kecamatan"]) if values["kecamatan"].isdigit() else None
    if region is None or not region.is_kecamatan:
        raise bad("kecamatan")
    if not scope.covers(ctx.areas, region.code):
        raise FieldError("kecamatan", ctx.t("outside_area"))
    if occupations.by_key(values["occupation"]) is None:
        raise bad("occupation")
    income = entities.parse_money(values["income"])
    if income is None or income < calculator.minimum_income():
        raise bad("income")
    if values["programmes"] not in ("2", "3"):
        raise bad("programmes")
    if values["continue_via"] not in ("visit", "call", "self"):
        raise bad("continue_via")
    if values.get("consent") != "yes":
        raise FieldError("consent", ctx.t("consent_required"))
    return dict(
        name=name,
        nik=info.nik,
        born=born,
        phone=phone,
        region=region,
        occupation=values["occupation"],
        income=income,
        programmes=int(values["programmes"]),
        continue_via=values["continue_via"],
    )


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    async def new_worker(ctx: Ctx) -> Response:
        if ctx.request.method == "GET":
            return ctx.render("field.html", values={}, error=None, saved=None)
        values = {name: ctx.field(name)[:200] for name in (*FIELDS, "consent")}
        try:
            answers = _check(ctx, values)
        except FieldError as exc:
            return ctx.render(
                "field.html", status_code=400, values=values, error=exc.message, error_field=exc.field, saved=None
            )
        cipher = dash.runtime.cipher
        nik = str(answers["nik"])
        nik_hash = cipher.keyed_hash(nik)
        region = answers["region"]
        staff = ctx.staff
        assert staff is not None
        async with dash.runtime.db.session() as session:
            if await repo.lead_by_nik_hash(session, nik_hash) is not None:
                return ctx.render(
                    "field.html",
                    status_code=409,
                    values=values,
                    error=ctx.t("nik_known"),
                    error_field="nik",
                    saved=None,
                )
            assigned: int | None
            if staff.role == "coordinator":
                assigned = staff.id
            else:
                coordinator = await repo.coordinator_for(session, region.code)  # type: ignore[attr-defined]
                assigned = coordinator.id if coordinator else None
            lead = Lead(
                contact_id=None,
                full_name=answers["name"],
                nik_encrypted=cipher.encrypt(nik),
                nik_hash=nik_hash,
                nik_masked=mask_nik(nik),
                nik_tail_hash=cipher.tail_hash(nik),
                nik_checks=lead_quality.stored(nik, answers["born"], region.code),  # type: ignore[arg-type,attr-defined]
                birth_date=answers["born"],
                phone_e164=answers["phone"],
                kabkota_code=region.kabkota_code,  # type: ignore[attr-defined]
                kecamatan_code=region.code,  # type: ignore[attr-defined]
                occupation=answers["occupation"],
                is_transport=bool(occupations.is_transport(str(answers["occupation"]))),
                declared_income=answers["income"],
                programmes=answers["programmes"],
                continue_via=answers["continue_via"],
                status="new",
                timezone=regions.timezone_for(region.code),  # type: ignore[attr-defined]
                campaign_code=None,
                channel="field",
                assigned_staff_id=assigned,
                created_by_staff_id=staff.id,
            )
            session.add(lead)
            await session.flush()
            now = datetime.now(UTC)
            session.add(
                LeadEvent(
                    lead_id=lead.id,
                    staff_id=staff.id,
                    status="new",
                    created_at=now,
                    note=f"Persetujuan (UU 27/2022) diberikan langsung kepada {staff.name} ({CONSENT_VERSION}).",
                )
            )
            await repo.audit(
                session, ctx.actor, "consent_in_person", lead_id=lead.id, staff_id=staff.id, version=CONSENT_VERSION
            )
            await repo.audit(session, ctx.actor, "lead_saved", lead_id=lead.id, via="dashboard_field")
            lead_id = lead.id
        quote = calculator.quote(
            cast(int, answers["income"]),
            cast(int, answers["programmes"]),
            dash.today(),
            occupations.is_transport(str(answers["occupation"])),
        )
        return ctx.render("field.html", values={}, error=None, saved=lead_id, quote=quote)

    return [dash.route("/leads/new", new_worker, methods=("GET", "POST"))]
