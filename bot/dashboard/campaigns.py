"""Campaigns: compose a broadcast with a preview as each channel shows it, schedule, follow, cancel.

Everything a broadcast is goes through bot/delivery/broadcasts.py, as the CLI does: the segment
is checked by `parse_segment`, the count and the WhatsApp daily-limit share come from `preview`,
`create` stores it (the scheduler of `bpu-bot run` fans it out at its time) and `cancel` stops
it. The preview is rendered on the server (action=preview): the Telegram HTML the adapter sends
(telegram/common.py: plan) and the WhatsApp messages whatsapp_format builds, buttons included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from markupsafe import Markup
from starlette.responses import Response

from bot.channels import registry
from bot.channels.telegram import common as telegram_common
from bot.channels.whatsapp import format as whatsapp_format
from bot.dashboard import queries
from bot.dashboard.web import OFFICE, Ctx, Dashboard
from bot.delivery.settings import DeliverySettings
from bot.local_time import parse_local
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
            occupation=ctx.field("occupation")[:40],
            status=ctx.field("status")[:20],
            language=ctx.field("language")[:2],
            channels=[c for c in ctx.form.getlist("channel") if isinstance(c, str)],
            when="at" if ctx.field("when") == "at" else "now",
            at=ctx.field("at")[:16],
            rsvp=ctx.field("rsvp") == "on",
            quiet="skip" if ctx.field("quiet") == "skip" else "defer",
        )

    def segment_text(self) -> str:
        parts = []
        area = self.kecamatan or self.kabkota
        if area:
            parts.append(f"area={area}")
        for key in ("occupation", "status", "language"):
            if getattr(self, key):
                parts.append(f"{key}={getattr(self, key)}")
        return ",".join(parts)


@dataclass
class Checked:
    segment: dict[str, str]
    channels: list[str]
    template: str | None
    text: str | None
    variables: dict[str, str]
    at: datetime | None  # None: now


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
    if draft.kecamatan and (regions.get(draft.kecamatan) is None or len(draft.kecamatan) != 6):
        errors.append(ctx.t("bad_area", code=draft.kecamatan))
    elif draft.kabkota and regions.get(draft.kabkota) is None:
        errors.append(ctx.t("bad_area", code=draft.kabkota))
    segment: dict[str, str] = {}
    channels: list[str] = []
    try:
        segment = broadcasts.parse_segment(draft.segment_text())
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
    return Checked(segment, channels, template, None if template else text, variables, at), []


def channel_views(text: str, buttons: tuple[Button, ...]) -> dict[str, list[dict[str, Any]]]:
    """The messages a recipient gets on each channel: Telegram's HTML and WhatsApp's messages."""
    telegram = []
    for out in telegram_common.plan([Reply(text, buttons)], share_label="", reply_keyboard_open=False):
        rows = out.markup.rows if isinstance(out.markup, telegram_common.InlineKeyboard) else ()
        # to_html escaped everything before adding <b>/<i>: the HTML is safe to show as such.
        labels = [[label for label, _ in row] for row in rows]
        telegram.append({"html": Markup(out.text), "source": out.text, "rows": labels})
    whatsapp = []
    for message in whatsapp_format.render(Reply(text, buttons)).messages:
        if message["type"] == "text":
            whatsapp.append({"text": message["text"]["body"], "buttons": [], "list": None})
            continue
        interactive = message["interactive"]
        action = interactive["action"]
        view: dict[str, Any] = {"text": interactive["body"]["text"], "buttons": [], "list": None}
        if interactive["type"] == "button":
            view["buttons"] = [b["reply"]["title"] for b in action["buttons"]]
        else:
            titles = [r["title"] for s in action["sections"] for r in s["rows"]]
            view["list"] = {"button": action["button"], "rows": titles}
        whatsapp.append(view)
    return {"telegram": telegram, "whatsapp": whatsapp}


def _whatsapp_template_configured() -> bool:
    from bot.channels.whatsapp.window import load_templates

    try:
        return "broadcast" in load_templates()
    except ValueError:
        return False


def reason_label(ctx: Ctx, reason: str) -> str:
    key = f"reason_{reason}"
    text = ctx.t(key)
    return reason if text == key else text


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    renderer: Renderer = dash.runtime.engine.services.renderer
    templates = [name for name in renderer.template_names("id") if name.startswith(PREFIX)]

    def delivery_settings() -> DeliverySettings:
        return DeliverySettings()

    def form(ctx: Ctx, draft: Draft, *, errors: list[str] | None = None, preview: Any = None,
             views: Any = None, status_code: int = 200) -> Response:  # fmt: skip
        return ctx.render(
            "campaigns_new.html",
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
            wa_template=_whatsapp_template_configured() if preview is not None else False,
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
        return form(ctx, draft)

    async def submit(ctx: Ctx) -> Response:
        draft = Draft.from_form(ctx)
        now = datetime.now(UTC)
        checked, errors = check(draft, ctx, renderer, now)
        if checked is None:
            return form(ctx, draft, errors=errors, status_code=400)
        action = ctx.field("action")
        if action == "create":
            try:
                for lang in ("id", "en"):  # a template that cannot render is refused before it is stored
                    broadcasts.render_broadcast(renderer, _draft_broadcast(checked), lang)
            except Exception as exc:
                return form(ctx, draft, errors=[ctx.t("cannot_render", error=str(exc)[:200])], status_code=400)
            async with dash.runtime.db.session() as session:
                b = await broadcasts.create(
                    session, created_by=ctx.actor, segment=checked.segment, channels=checked.channels,
                    template=checked.template, text=checked.text, variables=dict(checked.variables),
                    rsvp=draft.rsvp, at=checked.at, quiet_policy=draft.quiet, now=now,
                )  # fmt: skip
                b.campaign_code = draft.campaign_code or None
                await session.flush()
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
        views = {}
        for lang in ("id", "en"):
            text, buttons, variables = broadcasts.render_broadcast(renderer, draft_b, lang)
            views[lang] = {**channel_views(text, buttons), "variables": variables}
        return form(ctx, draft, preview=p, views=views)

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
        )

    async def cancel(ctx: Ctx) -> Response:
        broadcast_id = int(ctx.request.path_params["broadcast_id"])
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
