"""WhatsApp Cloud API wire formats, parsed into small typed values.

Webhooks: https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
Parsing is forgiving: an unknown field is ignored, an unknown message type becomes
`Kind.UNSUPPORTED` (the worker still gets a kind answer), and a malformed element is skipped
rather than failing the whole notification (Meta would otherwise deliver it again forever).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from handlers.messages import Kind

_BSUID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9.]{1,140}$")


def is_bsuid(value: str) -> bool:
    """`US.13491208655302741918` (or a parent `US.ENT.…`): a business-scoped user id, not a phone."""
    return bool(_BSUID.match(value))


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message a user sent to the business."""

    wamid: str
    user_id: str  # the BSUID when the payload has one, else the wa_id
    wa_id: str | None  # the phone number, digits only, when WhatsApp shares it
    kind: Kind
    timestamp: datetime | None
    type: str  # WhatsApp's own message type, for logs
    text: str | None = None
    payload: str | None = None
    display_name: str | None = None
    contact_phone: str | None = None  # a contact card of the user's own number
    group_id: str | None = None
    phone_number_id: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: int | None
    title: str | None
    details: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """What became of a message the business sent."""

    wamid: str
    status: str  # sent, delivered, read, failed (also played, deleted...: ignored by the store)
    timestamp: datetime | None
    recipient_id: str | None
    errors: tuple[ErrorInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class Notification:
    messages: list[Inbound] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)


# A notification (text message, trimmed; Meta's sample from the messages webhook reference):
# {"object": "whatsapp_business_account",
#  "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
#     "messaging_product": "whatsapp",
#     "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
#     "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234",
#                   "user_id": "US.13491208655302741918"}],
#     "messages": [{"from": "16505551234", "id": "wamid.HBgLMTY1…", "timestamp": "1749416383",
#                   "type": "text", "text": {"body": "Does it come in another color?"}}]}}]}]}
def parse_notification(body: Any) -> Notification:
    """All messages and statuses of one webhook POST, in the order they appear."""
    out = Notification()
    if not isinstance(body, dict):
        return out
    for entry in _list(body.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            change = _dict(change)
            if change.get("field", "messages") != "messages":
                continue
            value = _dict(change.get("value"))
            phone_number_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
            contacts = [_dict(c) for c in _list(value.get("contacts"))]
            for raw in _list(value.get("messages")):
                message = parse_message(_dict(raw), contacts, phone_number_id)
                if message is not None:
                    out.messages.append(message)
            for raw in _list(value.get("statuses")):
                status = parse_status(_dict(raw))
                if status is not None:
                    out.statuses.append(status)
    return out


# One element of value.messages[] with the value.contacts[] around it. Types and their bodies:
#   text         {"text": {"body": "halo"}}
#   interactive  {"interactive": {"type": "button_reply", "button_reply": {"id": "f:consent:yes", "title": "Setuju"}}}
#                {"interactive": {"type": "list_reply",
#                                 "list_reply": {"id": "t:jkk", "title": "…", "description": "…"}}}
#   button       {"button": {"payload": "REMIND_STOP", "text": "Berhenti"}}  (template quick-reply)
#   image/audio/video/document/sticker  {"image": {"id": "…", "mime_type": "image/jpeg"}}; audio has "voice": true
#   location     {"location": {"latitude": -6.12, "longitude": 106.15}}
#   contacts     {"contacts": [{"name": {"formatted_name": "…"}, "phones": [{"phone": "+62 812…", "wa_id": "62812…"}]}]}
#   unsupported  {"errors": [{"code": 131051, "title": "Message type unknown"}]}
# Reactions and system notices (number changed) are not messages to answer: they return None.
_MEDIA_KIND = {
    "image": Kind.PHOTO,
    "audio": Kind.VOICE,
    "voice": Kind.VOICE,
    "video": Kind.VIDEO,
    "document": Kind.DOCUMENT,
    "sticker": Kind.STICKER,
    "location": Kind.LOCATION,
}
_IGNORED = frozenset({"reaction", "system", "request_welcome", "ephemeral", "revoke"})


def parse_message(raw: dict[str, Any], contacts: list[dict[str, Any]], phone_number_id: str | None) -> Inbound | None:
    wamid = _str(raw.get("id"))
    mtype = _str(raw.get("type")) or "unsupported"
    if not wamid or mtype in _IGNORED:
        return None
    sender = _str(raw.get("from"))
    contact = _contact_for(raw, contacts)
    wa_id = _str(contact.get("wa_id")) or (sender if sender and not is_bsuid(sender) else None)
    user_id = _str(contact.get("user_id")) or _str(raw.get("from_user_id")) or wa_id or sender
    if not user_id:
        return None
    common: dict[str, Any] = {
        "wamid": wamid,
        "user_id": user_id,
        "wa_id": wa_id,
        "timestamp": _time(raw.get("timestamp")),
        "type": mtype,
        "display_name": _str(_dict(contact.get("profile")).get("name")),
        "group_id": _str(raw.get("group_id")),
        "phone_number_id": phone_number_id,
    }
    if mtype == "text":
        return Inbound(kind=Kind.TEXT, text=_str(_dict(raw.get("text")).get("body")) or "", **common)
    if mtype == "interactive":
        interactive = _dict(raw.get("interactive"))
        reply = _dict(interactive.get(_str(interactive.get("type")) or ""))
        if interactive.get("type") in ("button_reply", "list_reply") and _str(reply.get("id")):
            return Inbound(kind=Kind.BUTTON, text=_str(reply.get("title")), payload=_str(reply.get("id")), **common)
        return Inbound(kind=Kind.UNSUPPORTED, **common)
    if mtype == "button":
        button = _dict(raw.get("button"))
        payload = _str(button.get("payload"))
        if payload:
            return Inbound(kind=Kind.BUTTON, text=_str(button.get("text")), payload=payload, **common)
        return Inbound(kind=Kind.TEXT, text=_str(button.get("text")) or "", **common)
    if mtype == "contacts":
        own = _own_phone(raw, wa_id)
        return Inbound(kind=Kind.CONTACT, contact_phone=own, **common)
    if mtype in _MEDIA_KIND:
        caption = _str(_dict(raw.get(mtype)).get("caption"))
        return Inbound(kind=_MEDIA_KIND[mtype], text=caption, **common)
    return Inbound(kind=Kind.UNSUPPORTED, **common)


# One element of value.statuses[] (Meta's status messages webhook reference):
# {"id": "wamid.HBgL…", "status": "failed", "timestamp": "1750263773", "recipient_id": "16505551234",
#  "errors": [{"code": 131047, "title": "Re-engagement message",
#              "error_data": {"details": "Message failed to send because more than 24 hours have passed…"}}]}
def parse_status(raw: dict[str, Any]) -> Status | None:
    wamid = _str(raw.get("id"))
    status = _str(raw.get("status"))
    if not wamid or not status:
        return None
    errors = tuple(parse_error(_dict(e)) for e in _list(raw.get("errors")))
    return Status(
        wamid=wamid,
        status=status,
        timestamp=_time(raw.get("timestamp")),
        recipient_id=_str(raw.get("recipient_id")) or _str(raw.get("recipient_user_id")),
        errors=errors,
    )


# A Graph API error, either the body of a refused request or an element of a status's errors[]:
# {"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047,
#            "error_data": {"messaging_product": "whatsapp", "details": "…"}, "fbtrace_id": "Az8or…"}}
def parse_error(raw: dict[str, Any]) -> ErrorInfo:
    if isinstance(raw.get("error"), dict):
        raw = raw["error"]
    code = raw.get("code")
    return ErrorInfo(
        code=code if isinstance(code, int) else (int(code) if isinstance(code, str) and code.isdigit() else None),
        title=_str(raw.get("title")) or _str(raw.get("message")),
        details=_str(_dict(raw.get("error_data")).get("details")),
    )


# The answer to a successful send (POST /{phone-number-id}/messages):
# {"messaging_product": "whatsapp", "contacts": [{"input": "6281234567890", "wa_id": "6281234567890"}],
#  "messages": [{"id": "wamid.HBgLNjI4…", "message_status": "accepted"}]}
def parse_send_response(raw: Any) -> str | None:
    """The wamid of the message just sent."""
    for message in _list(_dict(raw).get("messages")):
        wamid = _str(_dict(message).get("id"))
        if wamid:
            return wamid
    return None


def _contact_for(raw: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    sender, sender_id = _str(raw.get("from")), _str(raw.get("from_user_id"))
    for contact in contacts:
        if (sender and contact.get("wa_id") == sender) or (sender_id and contact.get("user_id") == sender_id):
            return contact
        if sender and contact.get("user_id") == sender:
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _own_phone(raw: dict[str, Any], wa_id: str | None) -> str | None:
    """A shared contact card counts as 'my number' only when it is the sender's own number."""
    if not wa_id:
        return None
    for card in _list(raw.get("contacts")):
        for phone in _list(_dict(card).get("phones")):
            phone = _dict(phone)
            if phone.get("wa_id") == wa_id:
                return "+" + wa_id
    return None


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
