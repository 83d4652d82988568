"""Campaigns: compose a broadcast with a preview as each channel shows it, schedule, follow, cancel.

Everything a broadcast is goes through handlers/broadcasts.py, as the CLI does: the segment
is checked by `parse_segment`, the count and the WhatsApp daily-limit share come from `preview`,
`create` stores it (the scheduler of `bpu-bot run` fans it out at its time) and `cancel` stops
it. The preview is rendered on the server (action=preview): each channel of the registry with a
bulk sender shows the messages its own formatter builds (its SPEC.preview), buttons included.

Nothing is sent without a second look (issue 16, item 7): "Jadwalkan" (action=create) shows a
confirmation page with the preview, the recipient count and, when the time falls in the quiet
hours, what happens to it; only its own POST (action=confirm) stores the broadcast. Cancelling
asks the same way. Areas are picked by name ("Kota Serang › Kasemen (367302)", the staff page's
list), several per campaign; each message carries its campaign's link (handlers/broadcasts.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from markupsafe import Markup
from starlette.responses import Response

from bot.channels import registry
from bot.channels.base import ChannelSpec
from bot.dashboard import queries
from bot.dashboard.admin import _area_code, _Bad, area_label, area_options
from bot.dashboard.web import OFFICE, Ctx, Dashboard
from bot.delivery.quiet import in_quiet_hours
from bot.delivery.settings import DeliverySettings
from bot.local_time import parse_local
from bot.settings import parse_quiet_hours
from content import regions
from content.render import Renderer, template_variables
from handlers import broadcasts, links
from handlers.messages import Button, Reply
from storage import repositories as repo
from storage.campaign_models import Broadcast

PREFIX = "broadcast_"
VARIABLES = ("place", "date", "time")  # what the broadcast_* templates ask for
OPTIONAL = frozenset({"time"})  # used under {% if %}: may stay empty
MAX_TEXT = 4096
REFRESH_SECONDS = 5
REASONS = (
    "opted_out", "unreachable", "quiet_hours", "no_template", "cancelled", "interrupted", "no_answer", "daily_limit",
    "gave_up", "rejected", "rate_limited", "retrying", "paid", "reminder_off",
)  # fmt: skip


def needed_variables(template: str) -> frozenset[str]:
    """The variables a template uses (in either language), besides the facts and today."""
    return frozenset(template_variables(template))


@dataclass
class Draft:
    """The compose form as typed, kept to fill the form again."""

    template: str = ""
    text: str = ""
    place: str = ""
    date: str = ""
    time: str = ""
    campaign_code: str = ""
    kabkota: str = ""
    kecamatan: str = ""
    areas: list[str] = field(default_factory=list)  # as picked or typed: "Kota Serang › Kasemen (367302)"
    rsvp_of: str = ""  # a reminder to those who answered "Hadir" to this broadcast
    occupation: str = ""
    status: str = ""
    language: str = ""
    channels: list[str] = field(default_factory=lambda: list(registry.bulk_names()))
    when: str = "now"
    at: str = ""
    rsvp: bool = False
    quiet: str = "defer"

    @classmethod
    def from_form(cls, ctx: Ctx) -> Draft:
        assert ctx.form is not None
        return cls(
            template=ctx.field("template")[:80],
            text=ctx.field("text"),
            place=ctx.field("place")[:120],
            date=ctx.field("date")[:10],
            time=ctx.field("time")[:20],
            campaign_code=ctx.field("campaign_code")[:64],
            kabkota=ctx.field("kabkota")[:4],
            kecamatan=ctx.field("kecamatan")[:6],
            areas=[a.strip()[:120] for a in ctx.form.getlist("area") if isinstance(a, str) and a.strip()][:40],
            rsvp_of=ctx.field("rsvp_of")[:12],
            occupation=ctx.field("occupation")[:40],
            status=ctx.field("status")[:20],
            language=ctx.field("language")[:2],
            channels=[c for c in ctx.form.getlist("channel") if isinstance(c, str)],
            when="at" if ctx.field("when") == "at" else "now",
            at=ctx.field("at")[:16],
            rsvp=ctx.field("rsvp") == "on",
            quiet="skip" if ctx.field("quiet") == "skip" else "defer",
        )

    def area_codes(self, ctx: Ctx) -> list[str]:
        """The areas picked by name (or typed as codes), then the older kabkota/kecamatan fields."""
        codes = [_area_code(ctx, text) for text in self.areas]
        area = self.kecamatan or self.kabkota
        if area:
            codes.append(area)
        return list(dict.fromkeys(codes))

    def segment_text(self, codes: list[str]) -> str:
        parts = []
        if codes:
            parts.append("area=" + ",".join(codes))
        for key in ("occupation", "status", "language"):
            if getattr(self, key):
                parts.append(f"{key}={getattr(self, key)}")
        if self.rsvp_of:
            parts.append(f"rsvp={self.rsvp_of}:yes")
        return ",".join(parts)

    def hidden(self, codes: list[str]) -> list[tuple[str, str]]:
        """The draft as hidden fields of the confirmation form (areas as their codes)."""
        out = [(name, str(getattr(self, name))) for name in (
            "template", "text", "place", "date", "time", "campaign_code", "occupation", "status", "language",
            "when", "at", "quiet", "rsvp_of",
        )]  # fmt: skip
        out += [("area", code) for code in codes]
        out += [("channel", ch) for ch in self.channels]
        if self.rsvp:
            out.append(("rsvp", "on"))
        return out


@dataclass
class Checked:
    segment: dict[str, str]
    channels: list[str]
    template: str | None
    text: str | None
    variables: dict[str, str]
    at: datetime | None  # None: now
    areas: list[str] = field(default_factory=list)


def check(draft: Draft, ctx: Ctx, renderer: Renderer, now: datetime) -> tuple[Checked | None, list[str]]:
    """The draft as broadcasts.create takes it, or what is wrong with it (in the staff's language)."""
    errors: list[str] = []
    template = draft.template or None
    text = draft.text or None
    variables: dict[str, str] = {}
    if template is not None:
        if not template.startswith(PREFIX) or template not in renderer.template_names("id"):
            errors.append(ctx.t("bad_template"))
        elif text:
            errors.append(ctx.t("template_or_text"))
        else:
            given = {"place": draft.place, "date": draft.date, "time": draft.time}
            needed = needed_variables(template)
            # WhatsApp's template takes them in this order ({{1}} place, {{2}} date, ...), like the CLI's --var.
            for name in [*(v for v in VARIABLES if v in needed), *sorted(needed - set(VARIABLES))]:
                value = given.get(name, "")
                if not value and name not in OPTIONAL:
                    errors.append(ctx.t("fill_variable", name=ctx.t("var_" + name)))
                variables[name] = value
            if variables.get("date"):
                try:
                    date.fromisoformat(variables["date"])
                except ValueError:
                    errors.append(ctx.t("fill_variable", name=ctx.t("var_date")))
    elif not text:
        errors.append(ctx.t("template_or_text"))
    elif len(text) > MAX_TEXT:
        errors.append(ctx.t("text_too_long", limit=MAX_TEXT))
    if draft.campaign_code and not links.valid_code(draft.campaign_code):
        errors.append(ctx.t("bad_code"))
    codes: list[str] = []
    if draft.kecamatan and (regions.get(draft.kecamatan) is None or len(draft.kecamatan) != 6):
        errors.append(ctx.t("bad_area", code=draft.kecamatan))
    elif draft.kabkota and regions.get(draft.kabkota) is None:
        errors.append(ctx.t("bad_area", code=draft.kabkota))
    else:
        try:
            codes = draft.area_codes(ctx)
        except _Bad as exc:
            errors.append(str(exc))
    segment: dict[str, str] = {}
    channels: list[str] = []
    try:
        segment = broadcasts.parse_segment(draft.segment_text(codes))
        if not draft.channels:
            raise broadcasts.SegmentError("no channel")
        channels = broadcasts.parse_channels(draft.channels, registry.bulk_names())
    except broadcasts.SegmentError:
        errors.append(ctx.t("bad_segment"))
    at = None
    if draft.when == "at":
        try:
            at = parse_local(draft.at, ctx.dash.tz)
            if at < now - timedelta(minutes=1):
                errors.append(ctx.t("time_in_past"))
        except ValueError:
            errors.append(ctx.t("bad_time"))
    if errors:
        return None, errors
    return Checked(segment, channels, template, None if template else text, variables, at, codes), []


def quiet_warning(ctx: Ctx, at: datetime | None, now: datetime, quiet_policy: str) -> str | None:
    """What happens to a broadcast whose time (now, or the one chosen) falls in the quiet hours."""
    quiet = parse_quiet_hours(ctx.runtime.settings.quiet_hours)
    local = (at or now).astimezone(ctx.dash.tz)
    if not in_quiet_hours(local, quiet):
        return None
    key = "quiet_warning_skip" if quiet_policy == "skip" else "quiet_warning_defer"
    return ctx.t(key, time=local.strftime("%H.%M"), start=f"{quiet[0]:02d}.00", end=f"{quiet[1]:02d}.00")


@dataclass(frozen=True)
class ChannelView:
    """One channel's part of a broadcast's preview (the registry's channels with a preview)."""

    name: str
    label: str
    messages: list[dict[str, Any]]
    has_templates: bool


def channel_view(spec: ChannelSpec, text: str, buttons: tuple[Button, ...]) -> ChannelView:
    assert spec.preview is not None
    messages = [
        {
            # A channel's HTML escaped everything before adding its own tags: safe to show as such.
            "html": Markup(m.html) if m.html is not None else None,
            "source": m.html,  # the same HTML shown as text
            "text": m.text,
            "rows": m.rows,
            "list": {"button": m.list_button, "rows": m.list_rows} if m.list_button else None,
        }
        for m in spec.preview(Reply(text, buttons))
    ]
    return ChannelView(spec.name, spec.label, messages, spec.capabilities.has_templates)


def reason_label(ctx: Ctx, reason: str) -> str:
    key = f"reason_{reason}"
    text = ctx.t(key)
    return reason if text == key else text


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    renderer: Renderer = dash.runtime.engine.services.renderer
    templates = [name for name in renderer.template_names("id") if name.startswith(PREFIX)]

    def delivery_settings() -> DeliverySettings:
        return dash.runtime.settings  # one settings object, read once when the bot started

    def form(ctx: Ctx, draft: Draft, *, errors: list[str] | None = None, preview: Any = None,
             views: Any = None, status_code: int = 200, checked: Checked | None = None,
             page: str = "campaigns_new.html") -> Response:  # fmt: skip
        now = datetime.now(UTC)
        return ctx.render(
            page,
            status_code=status_code,
            draft=draft,
            templates=templates,
            errors=errors or [],
            preview=preview,
            views=views,
            variables=VARIABLES,
            channels=registry.bulk_names(),
            channel_names=registry.labels(),
            languages=("id", "en"),
            wa_template=preview is not None and "broadcast" in delivery_settings().whatsapp_templates,
            area_options=area_options(),
            # a code (back from the confirmation page) is shown by its name, as the list offers it
            area_fields=[
                *(area_label(a) if a.isdigit() else a for a in draft.areas),
                *[""] * max(1, 3 - len(draft.areas)),
            ],
            quiet_warning=quiet_warning(ctx, checked.at, now, draft.quiet) if checked else None,
            hidden=draft.hidden(checked.areas) if checked else [],
            area_names=[area_label(code) for code in checked.areas] if checked else [],
            when_local=(checked.at or now) if checked else None,
            links=_links(ctx, draft.campaign_code),
        )

    def _links(ctx: Ctx, code: str) -> dict[str, str]:
        settings = ctx.runtime.settings
        return broadcasts.campaign_links(
            code or "kampanye-…",  # a broadcast without a code gets kampanye-<its number>
            telegram_username=settings.telegram_bot_username,
            whatsapp_number=settings.whatsapp_display_number,
        )

    async def campaign_list(ctx: Ctx) -> Response:
        async with dash.runtime.db.session() as session:
            rows = await queries.campaign_progress(session)
        return ctx.render("campaigns.html", rows=rows, now=datetime.now(UTC))

    async def compose(ctx: Ctx) -> Response:
        draft = Draft()
        code = (ctx.request.query_params.get("code") or "").strip()
        if links.valid_code(code):
            draft.campaign_code = code
        reminder = (ctx.request.query_params.get("rsvp") or "").strip()
        if reminder.isdigit():
            async with dash.runtime.db.session() as session:
                b = await session.get(Broadcast, int(reminder))
            if b is not None:
                draft.rsvp_of = reminder
                draft.campaign_code = b.campaign_code or ""
                draft.template, draft.text = b.template or "", b.text or ""
                for name in VARIABLES:
                    setattr(draft, name, str((b.variables or {}).get(name, "")))
                draft.channels = (
                    broadcasts.parse_channels(b.channels, registry.bulk_names()) if b.channels else draft.channels
                )
        return form(ctx, draft)

    async def submit(ctx: Ctx) -> Response:
        draft = Draft.from_form(ctx)
        now = datetime.now(UTC)
        checked, errors = check(draft, ctx, renderer, now)
        if checked is None:
            return form(ctx, draft, errors=errors, status_code=400)
        action = ctx.field("action")
        if action == "confirm":
            try:
                for lang in ("id", "en"):  # a template that cannot render is refused before it is stored
                    broadcasts.render_broadcast(renderer, _draft_broadcast(checked), lang)
            except Exception as exc:
                return form(ctx, draft, errors=[ctx.t("cannot_render", error=str(exc)[:200])], status_code=400)
            settings = dash.runtime.settings
            async with dash.runtime.db.session() as session:
                b = await broadcasts.create(
                    session, created_by=ctx.actor, segment=checked.segment, channels=checked.channels,
                    template=checked.template, text=checked.text, variables=dict(checked.variables),
                    rsvp=draft.rsvp, at=checked.at, quiet_policy=draft.quiet, now=now,
                    campaign_code=draft.campaign_code or None, telegram_username=settings.telegram_bot_username,
                    whatsapp_number=settings.whatsapp_display_number,
                )  # fmt: skip
                await repo.audit(
                    session, ctx.actor, "broadcast_created", broadcast_id=b.id, segment=checked.segment,
                    channels=checked.channels, at=(checked.at or now).isoformat(), campaign_code=b.campaign_code,
                )  # fmt: skip
                broadcast_id = b.id
            return ctx.redirect(f"/campaigns/{broadcast_id}")
        limit = delivery_settings().whatsapp_daily_limit
        try:
            async with dash.runtime.db.session() as session:
                p = await broadcasts.preview(
                    session, renderer, segment=checked.segment, channels=checked.channels,
                    template=checked.template, text=checked.text, variables=dict(checked.variables),
                    rsvp=draft.rsvp, now=now, daily_limit=limit,
                )  # fmt: skip
        except Exception as exc:  # a template that needs a variable it was not given, most often
            return form(ctx, draft, errors=[ctx.t("cannot_render", error=str(exc)[:200])], status_code=400)
        draft_b = _draft_broadcast(checked, rsvp=draft.rsvp)
        draft_b.links = _links(ctx, draft.campaign_code)
        views: dict[str, dict[str, Any]] = {}
        for lang in ("id", "en"):
            shown: list[ChannelView] = []
            variables: tuple[str, ...] = ()
            for spec in registry.SPECS:
                if spec.bulk and spec.preview is not None:  # each channel's own rendering of it
                    text, buttons, variables = broadcasts.render_broadcast(renderer, draft_b, lang, channel=spec.name)
                    shown.append(channel_view(spec, text, buttons))
            views[lang] = {"channels": shown, "variables": variables}
        page = "campaigns_confirm.html" if action == "create" else "campaigns_new.html"
        return form(ctx, draft, preview=p, views=views, checked=checked, page=page)

    async def detail(ctx: Ctx) -> Response:
        broadcast_id = int(ctx.request.path_params["broadcast_id"])
        async with dash.runtime.db.session() as session:
            try:
                st = await broadcasts.status(session, broadcast_id)
            except LookupError:
                return ctx.error(404, "not_found")
            receipts = await queries.campaign_receipts(session, broadcast_id)
            leads = await queries.campaign_leads(session, st.broadcast.campaign_code)
            names = await queries.staff_names(session)
        b = st.broadcast
        who, _, staff_id = b.created_by.partition(":")
        creator = names.get(int(staff_id), b.created_by) if who == "staff" and staff_id.isdigit() else b.created_by
        now = datetime.now(UTC)
        live = b.status == "sending" or (b.status == "scheduled" and b.scheduled_at <= now)
        try:
            text = broadcasts.render_broadcast(renderer, b, "id")[0]
        except Exception:
            text = ""
        by_reason: dict[str, list[tuple[str, int]]] = {"uncertain": [], "failed": [], "skipped": [], "queued": []}
        for key, count in sorted(st.counts.items()):
            state, sep, reason = key.partition(":")
            if sep and state in by_reason:
                by_reason[state].append((reason_label(ctx, reason), count))
        return ctx.render(
            "campaigns_detail.html",
            st=st,
            b=b,
            creator=creator,
            receipts=receipts,
            leads=leads,
            refresh=REFRESH_SECONDS if live else None,
            text=text,
            by_reason=by_reason,
            percent=round(100 * st.finished / st.total) if st.total else (100 if b.status == "done" else 0),
            can_cancel=b.status in ("scheduled", "sending"),
            channel_names=registry.labels(),
        )

    async def cancel(ctx: Ctx) -> Response:
        broadcast_id = int(ctx.request.path_params["broadcast_id"])
        if ctx.field("confirm") != "yes":  # the first POST asks whether they are sure
            async with dash.runtime.db.session() as session:
                try:
                    st = await broadcasts.status(session, broadcast_id)
                except LookupError:
                    return ctx.error(404, "not_found")
            if st.broadcast.status not in ("scheduled", "sending"):
                return ctx.redirect(f"/campaigns/{broadcast_id}")
            return ctx.render("campaigns_cancel.html", b=st.broadcast, waiting=st.waiting)
        async with dash.runtime.db.session() as session:
            try:
                n = await broadcasts.cancel(session, broadcast_id, datetime.now(UTC))
            except LookupError:
                return ctx.error(404, "not_found")
            await repo.audit(session, ctx.actor, "broadcast_cancelled", broadcast_id=broadcast_id, not_sent=n)
        return ctx.redirect(f"/campaigns/{broadcast_id}")

    return [
        dash.route("/campaigns", campaign_list, roles=OFFICE),
        dash.route("/campaigns/new", compose, roles=OFFICE),
        dash.route("/campaigns/new", submit, roles=OFFICE, methods=("POST",)),
        dash.route("/campaigns/{broadcast_id:int}", detail, roles=OFFICE),
        dash.route("/campaigns/{broadcast_id:int}/cancel", cancel, roles=OFFICE, methods=("POST",)),
    ]


def _draft_broadcast(checked: Checked, *, rsvp: bool = False) -> Broadcast:
    return Broadcast(id=0, template=checked.template, text=checked.text, variables=dict(checked.variables), rsvp=rsvp)
