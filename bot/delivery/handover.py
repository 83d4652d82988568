"""Handover messages in the outbox (queued by handlers/handover_desk.py), rendered when sent.

A row holds ids only (`request_id`, `message_id`); the text is read from the request and its
history at the moment of sending, so a worker who deleted their data (the request goes with
them) leaves a row that is skipped, never a copy of their words.

- `handover_alert` to staff: the request (no `message_id`: question, area, the phone the
  worker gave, buttons Balas / Tandai selesai), or the worker's later words.
- `handover_reply` to the worker: a person's reply, or (no `message_id`) that the request is
  closed and the chat is the bot's again.

Quiet hours: an alert waits for the morning like any message to staff (the worker has been
told the office hours, and nobody calls back at 23:00). A reply to the worker is not held when
the worker wrote in the last CONVERSATION_WINDOW: they are in the conversation and waiting for
it, and quiet hours are there to keep unasked-for messages from waking people; a reply to a
question from the afternoon, written at night, waits for the morning. Opt-out does not stop a
reply either: "stop" ends broadcasts and reminders, not the answer to a question the worker asked.
WhatsApp: inside the 24-hour window the text itself, outside it the approved template of the
kind (WHATSAPP_TEMPLATE_HANDOVER_ALERT / _HANDOVER_REPLY) with the variables `render` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content import regions
from content.render import Renderer
from handlers.handover_desk import KIND_ALERT, KIND_REPLY, KINDS, WORKER
from handlers.messages import Button
from storage.clock import as_utc
from storage.dashboard_models import CallbackRequest, HandoverMessage
from storage.models import Contact, Staff

__all__ = ["CONVERSATION_WINDOW", "KINDS", "KIND_ALERT", "KIND_REPLY", "Context", "in_conversation", "load", "render"]

CONVERSATION_WINDOW = timedelta(hours=1)
_VARIABLE_MAX = 900  # a template variable: one line, well under the Cloud API's limit


@dataclass(frozen=True)
class Context:
    """What the rows of one claimed batch need: their requests (with the worker) and entries."""

    requests: dict[int, tuple[CallbackRequest, Contact]]
    entries: dict[int, tuple[HandoverMessage, str | None]]  # with the staff member's name


async def load(session: AsyncSession, rows: Any) -> Context:
    mine = [r for r in rows if r.kind in KINDS]
    request_ids = {int(r.payload.get("request_id") or 0) for r in mine}
    entry_ids = {int(r.payload.get("message_id") or 0) for r in mine} - {0}
    requests: dict[int, tuple[CallbackRequest, Contact]] = {}
    entries: dict[int, tuple[HandoverMessage, str | None]] = {}
    if request_ids:
        found = await session.execute(
            select(CallbackRequest, Contact)
            .join(Contact, Contact.id == CallbackRequest.contact_id)
            .where(CallbackRequest.id.in_(request_ids))
        )
        requests = {request.id: (request, contact) for request, contact in found.all()}
    if entry_ids:
        written = await session.execute(
            select(HandoverMessage, Staff.name)
            .outerjoin(Staff, Staff.id == HandoverMessage.staff_id)
            .where(HandoverMessage.id.in_(entry_ids))
        )
        entries = {entry.id: (entry, name) for entry, name in written.all()}
    return Context(requests, entries)


def in_conversation(kind: str, last_inbound_at: datetime | None, now: datetime) -> bool:
    """A reply to a worker who wrote within CONVERSATION_WINDOW (not held by quiet hours)."""
    return kind == KIND_REPLY and last_inbound_at is not None and now - as_utc(last_inbound_at) < CONVERSATION_WINDOW


def render(
    renderer: Renderer, lang: str, kind: str, payload: dict[str, Any], context: Context
) -> tuple[str, tuple[Button, ...], tuple[str, ...]] | None:
    """Text, buttons and WhatsApp template variables; None when the request or entry is gone."""
    found = context.requests.get(int(payload.get("request_id") or 0))
    message_id = int(payload.get("message_id") or 0)
    entry = context.entries.get(message_id) if message_id else None
    if found is None or (message_id and entry is None):
        return None
    request, worker = found
    area = _area(request.kecamatan_code)
    if kind == KIND_REPLY and entry is not None:
        who = (entry[1] or "").split(" ")[0] or None
        text = renderer.render("handover_reply", lang, text=entry[0].text, who=who)
        return text, (), (who or "-", _one_line(entry[0].text))
    if kind == KIND_REPLY:
        text = renderer.render("handover_closed", lang, request_id=request.id)
        return text, (), ("-", _one_line(text))
    if kind != KIND_ALERT:
        return None
    buttons = (
        Button(renderer.label("handover_reply", lang), f"s:ho:reply:{request.id}"),
        Button(renderer.label("handover_done", lang), f"s:ho:done:{request.id}"),
    )
    if entry is not None and entry[0].author == WORKER:
        text = renderer.render("handover_answer", lang, request_id=request.id, area=area, text=entry[0].text)
        return text, buttons, (str(request.id), _one_line(entry[0].text))
    text = renderer.render(
        "handover_alert", lang, request_id=request.id, area=area, phone=request.phone_e164, channel=worker.channel,
        name=worker.display_name, question=request.question,
    )  # fmt: skip
    return text, buttons, (str(request.id), _one_line(request.question or "-"))


def _area(code: str | None) -> str | None:
    if not code:
        return None
    kecamatan = regions.get(code)
    kabkota = regions.get(code[:4]) if len(code) == 6 else None
    return ", ".join(r.name for r in (kecamatan, kabkota) if r) or code


def _one_line(text: str) -> str:
    # The Cloud API refuses a template variable with a line break, a tab or four spaces in a row.
    flat = " ".join(text.split())
    return flat[:_VARIABLE_MAX] or "-"
