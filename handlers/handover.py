"""Handover to a person: a worker asks for an officer, the coordinator of their area calls back.

The request is recorded with the worker's question (masked, like every stored text) and the
area, taken from the contact's region or their latest lead; the dashboard lists open requests
at the top of that coordinator's leads.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from handlers.messages import Button
from handlers.redact import redact
from handlers.turn import Turn
from storage.dashboard_models import CallbackRequest
from storage.models import Lead

MAX_QUESTION = 1000


async def _area(turn: Turn) -> str | None:
    code = turn.contact.region_code
    if code and len(code) == 6:
        return code
    latest = await turn.session.scalar(
        select(Lead.kecamatan_code)
        .where(Lead.contact_id == turn.contact.id)
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(1)
    )
    return latest or None


async def request_callback(turn: Turn, buttons: Sequence[Button] = ()) -> None:
    """Record (or refresh) the worker's open callback request and tell them what happens next."""
    question = redact(turn.text or "")[:MAX_QUESTION]
    open_request = await turn.session.scalar(
        select(CallbackRequest).where(
            CallbackRequest.contact_id == turn.contact.id, CallbackRequest.status == "open"
        )
    )
    area = await _area(turn)
    if open_request is None:
        turn.session.add(
            CallbackRequest(
                contact_id=turn.contact.id,
                question=question,
                kecamatan_code=area,
                status="open",
                created_at=turn.now,
            )
        )
    else:
        # Asking twice is one request: keep the latest question and area.
        if question:
            open_request.question = question
        open_request.kecamatan_code = area or open_request.kecamatan_code
    await turn.session.flush()
    turn.say("handover_recorded", office_hours=turn.services.office_hours, repeated=open_request is not None, buttons=buttons)
