"""Unanswered questions, content preview, the simulator in the frame, and campaign links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from starlette.responses import Response

from bot.dashboard import poster
from bot.dashboard.web import OFFICE, Ctx, Dashboard
from content.facts import load_facts
from content.render import Renderer
from handlers import calculator, links, occupations
from storage import repositories as repo
from storage.models import UnansweredMessage


def _sample_context(dash: Dashboard) -> dict[str, Any]:
    """Believable values for templates that need a conversation's data."""
    minimum = calculator.minimum_income()
    today = dash.today()
    return dict(
        name="Ani",
        quote=calculator.quote(minimum, 2, today, True),
        minimum=minimum,
        income=minimum,
        two=calculator.contribution(minimum, 2),
        three=calculator.contribution(minimum, 3),
        max_age=int(load_facts()["eligibility"]["max_age_at_registration"]),
        office_hours=dash.runtime.settings.office_hours,
        repeated=False,
        already=False,
        intro=True,
        kabkota="Kota Serang",
        has_hint=False,
        hint="",
        in_person=False,
        continue_via="visit",
        occupation=occupations.label("transport", "id"),
        occupation_known=True,
        kind="sticker",
        today=today,
    )


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    renderer = Renderer()

    async def unanswered(ctx: Ctx) -> Response:
        async with dash.runtime.db.session() as session:
            groups = await repo.unanswered_groups(session, limit=100)
        return ctx.render("unanswered.html", groups=groups)

    async def mark_handled(ctx: Ctx) -> Response:
        normalized = ctx.field("normalized")[:500]
        if normalized:
            async with dash.runtime.db.session() as session:
                result = await session.execute(
                    update(UnansweredMessage)
                    .where(UnansweredMessage.normalized == normalized, UnansweredMessage.handled_at.is_(None))
                    .values(handled_at=datetime.now(UTC))
                )
                await repo.audit(
                    session,
                    ctx.actor,
                    "unanswered_handled",
                    normalized=normalized,
                    rows=getattr(result, "rowcount", None),
                )  # an UPDATE's result counts its rows
        return ctx.redirect("/unanswered")

    async def content(ctx: Ctx) -> Response:
        lang = ctx.request.query_params.get("lang") or ctx.lang
        lang = lang if lang in ("id", "en") else "id"
        sample = _sample_context(dash)
        previews: list[tuple[str, str]] = []
        skipped: list[str] = []
        for name in renderer.template_names(lang):
            try:
                previews.append((name, renderer.render(name, lang, **sample)))
            except Exception:  # a template that needs data a preview cannot invent
                skipped.append(name)
        return ctx.render("content.html", previews=previews, skipped=skipped, content_lang=lang)

    async def simulator(ctx: Ctx) -> Response:
        return ctx.render("simulator.html")

    def _links(code: str) -> list[tuple[str, str]]:
        settings = dash.runtime.settings
        found = []
        wa = links.whatsapp_link(settings.whatsapp_display_number, code)
        tg = links.telegram_link(settings.telegram_bot_username, code)
        if wa:
            found.append(("WhatsApp", wa))
        if tg:
            found.append(("Telegram", tg))
        return found

    async def campaign_links(ctx: Ctx) -> Response:
        code = (ctx.request.query_params.get("code") or "").strip()
        settings = dash.runtime.settings
        error = None if not code or links.valid_code(code) else ctx.t("bad_code")
        ready = bool(code) and error is None
        return ctx.render(
            "campaign_links.html",
            code=code,
            error=error,
            telegram=links.telegram_link(settings.telegram_bot_username, code) if ready else None,
            whatsapp=links.whatsapp_link(settings.whatsapp_display_number, code) if ready else None,
            whatsapp_text=links.whatsapp_text(code) if ready else None,
            ready=ready,
            has_links=ready and bool(_links(code)),
        )

    async def poster_pdf(ctx: Ctx) -> Response:
        code = (ctx.request.query_params.get("code") or "").strip()
        if not links.valid_code(code) or not _links(code):
            return ctx.error(404, "not_found")
        params = ctx.request.query_params
        event = poster.Event(*(" ".join((params.get(k) or "").split())[: poster.EVENT_FIELD_MAX]
                               for k in ("event", "when", "where")))  # fmt: skip
        body = poster.poster_pdf(code, _links(code), str(load_facts()["call_centre"]), event)
        return Response(
            body,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="poster-{code}.pdf"'},
        )

    async def qr(ctx: Ctx) -> Response:
        code = (ctx.request.query_params.get("code") or "").strip()
        which = ctx.request.query_params.get("for") or ""
        found = dict(_links(code)) if links.valid_code(code) else {}
        if which not in found:
            return ctx.error(404, "not_found")
        return Response(
            poster.qr_png(found[which]),
            media_type="image/png",
            headers={"Content-Disposition": f'attachment; filename="qr-{which.lower()}-{code}.png"'},
        )

    return [
        dash.route("/unanswered", unanswered, roles=OFFICE),
        dash.route("/unanswered/handled", mark_handled, roles=OFFICE, methods=("POST",)),
        dash.route("/content", content, roles=OFFICE),
        dash.route("/sim", simulator),
        dash.route("/campaign-links", campaign_links),
        dash.route("/campaign-links/poster.pdf", poster_pdf),
        dash.route("/campaign-links/qr.png", qr),
    ]
