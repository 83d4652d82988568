"""Handover to a person: a worker asks for an officer, the coordinator of their area calls back.

A coordinator can act on a request only with three things: what the worker wants, in their own
words; a phone to call; and the kecamatan, which decides which coordinator sees it at all. So
the request keeps the worker's recent typed messages (a button label is never a question), asks
for a phone when none is known (WhatsApp's number is known) and for the kecamatan when neither
the contact nor a lead names it. Everything the worker writes while a request is open is added
to it, never written over it. Stored text is masked like every other (handlers.redact); the
phone, given for this call, is kept on the contact and on the request, where its coordinators
see it in full.

Once the request is complete the coordinator of the area (else the office) is alerted at once
(handlers.handover_desk). After a person has replied, the worker's typed messages go to that
person (`relay`) until the request is closed: the worker is talking to someone, not to the bot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from content import regions
from handlers import handover_desk as desk
from handlers.messages import Button
from handlers.nlu.classifier import LOW_CONFIDENCE
from handlers.redact import mask_phone, redact
from handlers.text import fold_digits, keyword
from handlers.turn import Turn
from handlers.validators import Invalid, parse_phone
from storage.clock import utcnow
from storage.dashboard_models import CallbackRequest
from storage.models import Lead, MessageLog

MAX_QUESTION = 1000
PHONE_STEP, AREA_STEP = "handover:phone", "handover:kecamatan"
# The messages just before the request are the question it is about ("kartu sy hilang" and then
# "bicara ke petugas"); older ones belong to another conversation.
_CONTEXT_WINDOW = timedelta(hours=1)
_CONTEXT_MESSAGES = 3
# What the log calls messages that ask nothing ("halo", "menu", "makasih", a form answer).
_NOT_A_QUESTION = {"greet", "help", "thanks_bye", "language", "opt_in", "opt_out", "my_data", "delete_data",
                   "form", "handover", "reminder_set", "reminder_ask", "reminder_paid", "reminder_stop",
                   "referral"}  # fmt: skip
_SKIP = {"lewati", "skip", "tidak", "tidak usah", "gak usah", "ga usah", "nggak", "ga", "gak", "no", "nanti",
         "chat saja", "lewat chat", "lewat chat saja", "di chat saja", "chat aja", "this chat", "no thanks",
         "later", "not now"}  # fmt: skip
# A place name is a few words; a longer message is something else the worker wants to say.
_PLACE_WORDS = 4
_SEPARATOR = "\n— "
_PLACE_PREFIX = re.compile(r"(?:kec|kecamatan|desa|kelurahan|kel|kampung|kp|kota|kab|kabupaten)\b")
_PHONE_RUN = re.compile(r"(?<!\d)(?:\+?62|0)8[\d .\-]{7,14}\d")


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
    if latest:
        return latest
    said_before = await turn.session.scalar(
        select(CallbackRequest.kecamatan_code)
        .where(CallbackRequest.contact_id == turn.contact.id, CallbackRequest.kecamatan_code.is_not(None))
        .order_by(CallbackRequest.id.desc())
        .limit(1)
    )
    return said_before or None


async def _phone_known(turn: Turn) -> bool:
    if turn.contact.phone_e164 or turn.services.phone_of(turn.contact):
        return True
    lead_phone = await turn.session.scalar(
        select(Lead.phone_e164).where(Lead.contact_id == turn.contact.id, Lead.phone_e164.is_not(None)).limit(1)
    )
    return bool(lead_phone)


async def _open_request(turn: Turn) -> CallbackRequest | None:
    request: CallbackRequest | None = await turn.session.scalar(
        select(CallbackRequest)
        .where(CallbackRequest.contact_id == turn.contact.id, CallbackRequest.status == "open")
        .order_by(CallbackRequest.id.desc())
        .limit(1)
    )
    return request


async def _words_before(turn: Turn) -> list[str]:
    """The worker's typed messages just before this one, oldest first (already masked in the log)."""
    rows = await turn.session.execute(
        select(MessageLog.text, MessageLog.created_at, MessageLog.intent)
        .where(MessageLog.contact_id == turn.contact.id, MessageLog.direction == "in")
        .order_by(MessageLog.id.desc())
        .limit(_CONTEXT_MESSAGES)
    )
    # The log is stamped by the store's clock (storage.clock), so the window is read on it too.
    since = utcnow().replace(tzinfo=None) - _CONTEXT_WINDOW
    typed = []
    for text, at, intent in rows:
        if text.startswith("[") or at.replace(tzinfo=None) < since:
            break  # a button, a sticker or an older conversation: not the words of this request
        if (intent or "").split(":")[0] not in _NOT_A_QUESTION:
            typed.append(text)
    return typed[::-1]


def _add(request: CallbackRequest, text: str) -> None:
    """Add to what the worker asked; what was written first stays."""
    if not text or text in request.question.split(_SEPARATOR):
        return
    joined = f"{request.question}{_SEPARATOR}{text}" if request.question else text
    request.question = joined[:MAX_QUESTION]


async def request_callback(turn: Turn, buttons: Sequence[Button] = ()) -> None:
    """Record the worker's request (or add to the open one), then ask what a coordinator still needs."""
    typed = "" if turn.msg.payload else redact(turn.text or "")
    labels = {keyword(turn.services.renderer.label("topic_human", lang)) for lang in ("id", "en")}
    if keyword(typed) in labels:
        typed = ""  # the button's label typed out says who, not what
    request = await _open_request(turn)
    repeated = request is not None
    if request is None:
        request = CallbackRequest(contact_id=turn.contact.id, question="", kecamatan_code=await _area(turn),
                                  status="open", created_at=turn.now)  # fmt: skip
        turn.session.add(request)
        for text in await _words_before(turn):
            _add(request, text)
    else:
        request.kecamatan_code = request.kecamatan_code or await _area(turn)
        if typed and request.alerted_at is not None:  # told already: the new words follow the alert
            await desk.worker_said(turn.session, request, typed[:MAX_QUESTION], turn.now,
                                   turn.services.staff_identities)  # fmt: skip
    _add(request, typed)
    if not turn.msg.payload and not turn.contact.phone_e164:
        turn.contact.phone_e164 = _phone_in(turn.text)  # "telepon saya di 0812..." gives it already
    await turn.session.flush()
    turn.save_data(handover_buttons=[[b.label, b.payload] for b in buttons])
    await _next(turn, request, repeated=repeated, first=True)


async def _next(turn: Turn, request: CallbackRequest, *, repeated: bool, first: bool = False) -> None:
    """Ask what the coordinator still needs, else confirm. `first`: this message made (or added
    to) the request, so the worker hears it is recorded before the question."""
    if not await _phone_known(turn) and not turn.data.get("handover_no_phone"):
        turn.state.step = PHONE_STEP
        turn.say("handover_ask_phone", repeated=repeated)
        return
    if request.kecamatan_code is None and not turn.data.get("handover_area_said"):
        turn.state.step = AREA_STEP
        turn.say("handover_ask_kecamatan", recorded=first, repeated=repeated)
        return
    turn.state.step = None
    buttons = [Button(label, payload) for label, payload in turn.data.get("handover_buttons") or []]
    turn.drop_data("handover_buttons", "handover_area_said", "handover_no_phone")
    phone = turn.contact.phone_e164
    request.phone_e164 = request.phone_e164 or await _callback_phone(turn)
    await desk.alert(turn.session, request, turn.now, turn.services.staff_identities)
    turn.say("handover_recorded", office_hours=turn.services.office_hours, repeated=repeated,
             phone=mask_phone(phone) if phone else None, buttons=buttons)  # fmt: skip


async def relay(turn: Turn) -> bool:
    """The worker's typed words after a person replied go to that person (history, then their
    chat) while the request is open; False when no person is in the conversation."""
    if turn.msg.payload or not turn.text or turn.text.startswith("/"):
        return False
    if not turn.data.get(desk.WITH_PERSON):
        return False  # no person in this conversation: nothing to look up (most messages)
    request = await _open_request(turn)
    if request is None or request.replied_at is None:
        turn.drop_data(desk.WITH_PERSON)
        return False
    turn.intent = "handover:answer"
    await desk.worker_said(turn.session, request, redact(turn.text)[:MAX_QUESTION], turn.now,
                           turn.services.staff_identities)  # fmt: skip
    turn.say("handover_forwarded", request_id=request.id)
    return True


async def _callback_phone(turn: Turn) -> str | None:
    """The phone to call the worker on: the one they gave, their chat's (WhatsApp), their lead's."""
    if turn.contact.phone_e164:
        return turn.contact.phone_e164
    if from_chat := turn.services.phone_of(turn.contact):
        return from_chat
    phone: str | None = await turn.session.scalar(
        select(Lead.phone_e164)
        .where(Lead.contact_id == turn.contact.id, Lead.phone_e164.is_not(None))
        .order_by(Lead.id.desc())
        .limit(1)
    )
    return phone


async def answer(turn: Turn) -> bool:
    """The worker's answer at a handover step; False when the message is something else, which is
    added to the request and then answered as usual."""
    request = await _open_request(turn)
    step = turn.state.step
    if request is None:
        turn.state.step = None
        return False
    word = keyword(turn.text)
    turn.intent = step
    if step == PHONE_STEP:
        if word in _SKIP:
            turn.save_data(handover_no_phone=True)  # asked once; the chat will do
            await _next(turn, request, repeated=False)
            return True
        try:
            turn.contact.phone_e164 = parse_phone(turn.text)
        except Invalid:
            if sum(ch.isdigit() for ch in turn.text) >= 6:
                turn.say("handover_phone_invalid")
                return True
            return _aside(turn, request)
        await _next(turn, request, repeated=False)
        return True
    if word in _SKIP:
        turn.save_data(handover_area_said=True)
        await _next(turn, request, repeated=False)
        return True
    found = _kecamatan(turn.text)
    if found is not None:
        request.kecamatan_code = found.code
    elif len(word.split()) <= _PLACE_WORDS and not _understood(turn):
        # Not a Banten kecamatan we know (or two of that name): the coordinator reads it as written.
        _add(request, f"kecamatan: {redact(turn.text)}")
        turn.save_data(handover_area_said=True)
    else:
        return _aside(turn, request)
    await _next(turn, request, repeated=False)
    return True


def _understood(turn: Turn) -> bool:
    """Whether a short answer to "which kecamatan?" reads as something else ("makasih ya")."""
    if _PLACE_PREFIX.match(keyword(turn.text)):
        return False
    prediction = turn.services.matcher.predict(turn.text)
    return prediction.intent != "out_of_scope" and prediction.confidence >= LOW_CONFIDENCE


def _aside(turn: Turn, request: CallbackRequest) -> bool:
    _add(request, redact(turn.text))
    turn.state.step = None
    turn.intent = None
    return False


def _phone_in(text: str) -> str | None:
    for run in _PHONE_RUN.findall(fold_digits(text)):
        try:
            return parse_phone(run)
        except Invalid:
            continue
    return None


def _kecamatan(text: str) -> regions.Region | None:
    """The one kecamatan of Banten a worker named ("Cipocok Jaya", "kec. walantaka, kota serang")."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    kabkota = regions.match_kabkota(parts[1]) if len(parts) > 1 else None
    places = [kabkota] if kabkota else regions.kabkota_list()
    name = parts[0] if parts else text
    found = {r.code: r for kk in places if (r := regions.match_kecamatan(name, kk.code))}
    return next(iter(found.values())) if len(found) == 1 else None
