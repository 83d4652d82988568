"""A worker's request for a person: its page (question, the phone they gave, history), a reply
that reaches the worker through the bot on their channel, and the close with a note.

The same domain as the chat commands (handlers/handover_desk.py): the area rule decides who
sees a request (a coordinator of its area, office staff for all and for those with no area),
and the reply goes out through the delivery outbox. Times come from the engine's clock, the one
that stamps the worker's messages (the WhatsApp window and quiet hours are read against it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from bot.channels import registry
from bot.dashboard import queries
from bot.dashboard.web import Ctx, Dashboard
from handlers import handover_desk as desk
from storage.dashboard_models import CallbackRequest
from storage.models import Contact, Staff

# desk.reply / desk.close: (session, request, staff, text, now, channels that reach the worker)
DeskAction = Callable[[AsyncSession, CallbackRequest, Staff, str, Any, tuple[str, ...]], Awaitable[object]]
Handler = Callable[[Ctx], Awaitable[Response]]


def _callback_id(ctx: Ctx) -> int | None:
    try:
        return int(ctx.request.path_params["callback_id"])
    except (KeyError, ValueError):
        return None


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    async def callback_page(ctx: Ctx) -> Response:
        async with dash.runtime.db.session() as session:
            callback = await queries.visible_callback(session, _callback_id(ctx) or 0, ctx.areas)
            if callback is None:
                return ctx.error(404, "not_found")
            contact = await session.get(Contact, callback.contact_id)
            history = await desk.history(session, callback.id)
        return ctx.render("callback.html", cb=callback, contact=contact, history=history, max_len=desk.TEXT_MAX)

    def acting(field: str, act: DeskAction, *, open_only: bool, then: Callable[[CallbackRequest], str]) -> Handler:
        """A POST on a request: its text (a reply, a closing note) handed to the desk, for a
        request the staff member may see (and, for a reply, one still open)."""

        async def handle(ctx: Ctx) -> Response:
            text = ctx.field(field)
            if not text:
                return ctx.error(400, "error_field")
            async with dash.runtime.db.session() as session:
                callback = await queries.visible_callback(session, _callback_id(ctx) or 0, ctx.areas)
                if callback is None:
                    return ctx.error(404, "not_found")
                if open_only and callback.status != "open":
                    return ctx.error(400, "callback_closed")
                await act(session, callback, ctx.me, text, dash.runtime.engine.clock(), registry.bulk_names())
            return ctx.redirect(then(callback))

        return handle

    reply = acting("text", desk.reply, open_only=True, then=lambda callback: f"/callbacks/{callback.id}")
    done = acting("note", desk.close, open_only=False, then=lambda _: "/leads")

    return [
        dash.route("/callbacks/{callback_id:int}", callback_page),
        dash.route("/callbacks/{callback_id:int}/reply", reply, methods=("POST",)),
        dash.route("/callbacks/{callback_id:int}/done", done, methods=("POST",)),
    ]
