"""The staff side of a handover, shared by the chat commands and the dashboard: who is alerted,
who may answer, a person's reply, the worker's answer passed on, the close with a note.

Nothing here sends anything: each message is one outbox row (storage.campaign_models.OutboxRow),
sent by the delivery worker like a reminder, so Telegram and WhatsApp work the same way, the
WhatsApp window and its template apply, and a crash sends nothing twice. The rows carry ids
only; the worker reads the request and its history (HandoverMessage) when it sends, so a worker
who deletes their data leaves nothing readable in the outbox (bot/delivery/handover.py).

- `handover_alert` rows go to staff: the request itself (payload `message_id` None), or a
  worker's later words (`message_id` of their entry). To the coordinators of the request's
  area who have a chat; with none (or no area known), to the office staff (staff, admin). Staff
  are reached on the first channel they have an identity on, in the registry's order
  (handlers/staff_identity.py: Telegram, no 24-hour window, before WhatsApp).
  A worker's answer goes to the person who replied last, if they still may act on it.
- `handover_reply` rows go to the worker: a person's reply (`message_id` of the entry), or,
  when a request a person answered is closed, a word that the chat is the bot's again (no
  `message_id`; the closing note is for staff and never goes to the worker).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.staff_identity import IdentityRules, staff_chat
from storage import repositories as repo
from storage import scope
from storage.campaign_models import QUEUED, OutboxRow
from storage.dashboard_models import CallbackRequest, HandoverMessage
from storage.models import Contact, ConversationState, Role, Staff, StaffIdentity

KIND_ALERT = "handover_alert"
KIND_REPLY = "handover_reply"
# The worker's conversation state holds the open request a person answered: their words go there.
WITH_PERSON = "with_person"
KINDS = (KIND_ALERT, KIND_REPLY)
WORKER, STAFF, NOTE = "worker", "staff", "note"  # HandoverMessage.author
TEXT_MAX = 3500  # one Telegram message with room for the frame around it
OFFICE_ROLES = (Role.STAFF, Role.ADMIN)


def may_act(staff: Staff | None, request: CallbackRequest) -> bool:
    """Office staff act on every request; a coordinator on those of their areas (one with no
    area known is the office's)."""
    if staff is None or not staff.active:
        return False
    return scope.covers(scope.of(staff), request.kecamatan_code)


async def visible(session: AsyncSession, staff: Staff | None, request_id: int | None) -> CallbackRequest | None:
    """The request, when `staff` may see it (the area rule in SQL, as for leads)."""
    if staff is None or request_id is None:
        return None
    request: CallbackRequest | None = await session.scalar(
        select(CallbackRequest).where(
            CallbackRequest.id == request_id, scope.kecamatan_in(CallbackRequest.kecamatan_code, scope.of(staff))
        )
    )
    return request


async def recipients(session: AsyncSession, request: CallbackRequest, rules: IdentityRules) -> list[Staff]:
    """Who hears of the request: its area's coordinators with a chat, else the office staff with one."""
    reachable = (Staff.active.is_(True), Staff.identities.any(StaffIdentity.channel.in_(list(rules))))
    found = [
        s
        for s in (await session.scalars(select(Staff).where(Staff.role == "coordinator", *reachable))).all()
        if request.kecamatan_code and scope.covers(scope.of(s), request.kecamatan_code) and staff_chat(s, rules)
    ]
    if not found:
        office = await session.scalars(select(Staff).where(Staff.role.in_(OFFICE_ROLES), *reachable))
        found = [s for s in office.all() if staff_chat(s, rules)]
    return sorted(found, key=lambda s: s.id)


async def alert(session: AsyncSession, request: CallbackRequest, now: datetime, rules: IdentityRules) -> int:
    """Tell the request's coordinators (else the office) at once, once per request; how many."""
    if request.alerted_at is not None:
        return 0
    request.alerted_at = now
    return await _to_staff(session, request, await recipients(session, request, rules), None, now, rules)


async def worker_said(
    session: AsyncSession, request: CallbackRequest, text: str, now: datetime, rules: IdentityRules
) -> HandoverMessage:
    """The worker's words (masked) join the history and go to the person who replied last (still
    entitled), else to everyone the request was alerted to."""
    entry = await _entry(session, request, WORKER, text, None, now)
    if request.alerted_at is None:
        return entry  # the alert, when it goes, carries the question
    last = await session.scalar(
        select(Staff)
        .join(HandoverMessage, HandoverMessage.staff_id == Staff.id)
        .where(HandoverMessage.request_id == request.id, HandoverMessage.author == STAFF)
        .order_by(HandoverMessage.id.desc())
        .limit(1)
    )
    to = [last] if last is not None and may_act(last, request) and staff_chat(last, rules) else []
    await _to_staff(session, request, to or await recipients(session, request, rules), entry.id, now, rules)
    return entry


async def reply(
    session: AsyncSession,
    request: CallbackRequest,
    staff: Staff,
    text: str,
    now: datetime,
    reachable: Collection[str],
) -> HandoverMessage:
    """A person's reply: kept in the history and queued to the worker on their channel.
    `reachable`: the channels the delivery worker sends on (the registry's bulk channels); a worker
    in the web simulator or the terminal chat has no chat to reach later: history only."""
    entry = await _entry(session, request, STAFF, text[:TEXT_MAX], staff.id, now)
    worker = await session.get(Contact, request.contact_id)
    if worker is not None and worker.channel in reachable:
        request.replied_at = now  # from now on the worker's words go to a person (handlers.handover.relay)
        await _mark_worker(session, request.contact_id, request.id)
        session.add(_row(f"h{request.id}:{entry.id}", KIND_REPLY, worker, {"request_id": request.id,
                                                                         "message_id": entry.id}, now))  # fmt: skip
    await repo.audit(session, f"staff:{staff.id}", "callback_reply", callback_id=request.id)
    return entry


async def close(
    session: AsyncSession, request: CallbackRequest, staff: Staff, note: str, now: datetime, reachable: Collection[str]
) -> bool:
    """Close the request with a note (kept as the last entry of its history); False when it was closed."""
    if request.status != "open":
        return False
    request.status = "done"
    request.done_at = now
    request.done_by_staff_id = staff.id
    if request.contact_id is not None:
        await _mark_worker(session, request.contact_id, None)
    await _entry(session, request, NOTE, note.strip()[:TEXT_MAX], staff.id, now)
    worker = await session.get(Contact, request.contact_id) if request.replied_at is not None else None
    if worker is not None and worker.channel in reachable:  # their words are the bot's again
        session.add(_row(f"h{request.id}:closed", KIND_REPLY, worker, {"request_id": request.id,
                                                                       "message_id": None}, now))  # fmt: skip
    await repo.audit(session, f"staff:{staff.id}", "callback_done", callback_id=request.id)
    return True


async def _mark_worker(session: AsyncSession, contact_id: int | None, request_id: int | None) -> None:
    """Note on the worker's conversation that a person is in it (or no longer is), so their next
    messages need no query to know whether to go to that person (handlers.handover.relay)."""
    state = await session.get(ConversationState, contact_id) if contact_id is not None else None
    if state is None:
        return
    data = {k: v for k, v in (state.data or {}).items() if k != WITH_PERSON}
    state.data = {**data, WITH_PERSON: request_id} if request_id is not None else data


async def history(session: AsyncSession, request_id: int) -> list[dict[str, Any]]:
    """The entries of a request, oldest first: author, who (staff name), text, at."""
    rows = await session.execute(
        select(HandoverMessage, Staff.name)
        .outerjoin(Staff, Staff.id == HandoverMessage.staff_id)
        .where(HandoverMessage.request_id == request_id)
        .order_by(HandoverMessage.id)
    )
    return [{"author": m.author, "who": name, "text": m.text, "at": m.created_at} for m, name in rows.all()]


async def open_requests(session: AsyncSession, staff: Staff, limit: int = 10) -> Sequence[CallbackRequest]:
    return (
        await session.scalars(
            select(CallbackRequest)
            .where(
                CallbackRequest.status == "open",
                scope.kecamatan_in(CallbackRequest.kecamatan_code, scope.of(staff)),
            )
            .order_by(CallbackRequest.created_at, CallbackRequest.id)
            .limit(limit)
        )
    ).all()


async def _entry(
    session: AsyncSession, request: CallbackRequest, author: str, text: str, staff_id: int | None, now: datetime
) -> HandoverMessage:
    entry = HandoverMessage(request_id=request.id, author=author, staff_id=staff_id, text=text, created_at=now)
    session.add(entry)
    await session.flush()
    return entry


async def _to_staff(
    session: AsyncSession,
    request: CallbackRequest,
    staff: Sequence[Staff],
    message_id: int | None,
    now: datetime,
    rules: IdentityRules,
) -> int:
    queued = 0
    for member in staff:
        chat = staff_chat(member, rules)
        if chat is None:
            continue
        contact, _ = await repo.get_or_create_contact(session, *chat)
        payload = {"request_id": request.id, "message_id": message_id, "staff_id": member.id}
        session.add(_row(f"h{request.id}:{message_id or 0}", KIND_ALERT, contact, payload, now))
        queued += 1
    return queued


def _row(key: str, kind: str, contact: Contact, payload: dict[str, Any], now: datetime) -> OutboxRow:
    # Priority 0, like a reminder: a person waits for it, it goes before a campaign's messages.
    return OutboxRow(source_key=key, kind=kind, contact_id=contact.id, channel=contact.channel, priority=0,
                     state=QUEUED, not_before=now, attempts=0, payload=payload, created_at=now)  # fmt: skip
