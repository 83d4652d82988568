"""The channel-neutral messages the engine takes and gives.

Adapters in bot/channels/ translate platform updates into `IncomingMessage` and
`Reply` back into platform calls; nothing in handlers/ ever sees a platform type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    """What the worker sent. Anything that is not text or a button gets a kind answer."""

    TEXT = "text"
    BUTTON = "button"
    CONTACT = "contact"
    STICKER = "sticker"
    PHOTO = "photo"
    VOICE = "voice"
    VIDEO = "video"
    DOCUMENT = "document"
    LOCATION = "location"
    UNSUPPORTED = "unsupported"


# The conversation state's key for options a channel showed as a numbered text list (WhatsApp,
# past ten options): the channel reads it to turn a typed "7" into the 7th option, in any process;
# the engine forgets it at the next message, which is the only one it answers.
NUMBERED_MENU = "numbered_menu"


@dataclass(frozen=True, slots=True)
class Button:
    """One option. `payload` comes back in `IncomingMessage.payload` when pressed."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message. Text uses a tiny markup that every channel can render:
    `*bold*` and `_italic_` (WhatsApp's own); the Telegram adapter turns them into HTML.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    request_phone: bool = False  # show a "share my phone number" control where the channel has one


def merge_replies(replies: list[Reply]) -> list[Reply]:
    """One message per answer: a reply without controls is joined to the next, so "an answer,
    then the menu" or "an answer, then the form's question again" is one message, the text
    and the buttons together (a blank line between the texts; the later reply's controls).

    A reply that carries buttons (or the phone control) stays its own message: its buttons
    answer its own text ("Sudah benar?" + Ya/Ubah), and moving them under a later text, or
    dropping them, would change what the worker can press. Such a pair is rare: handlers
    end a turn with one question.
    """
    merged: list[Reply] = []
    for reply in replies:
        last = merged[-1] if merged else None
        if last is not None and not last.buttons and not last.request_phone:
            text = f"{last.text}\n\n{reply.text}" if last.text and reply.text else last.text or reply.text
            merged[-1] = Reply(text, reply.buttons, reply.request_phone)
        else:
            merged.append(reply)
    return merged


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    channel: str  # "telegram", "whatsapp", "console", "web"
    user_id: str  # the user's id on that channel (Telegram user id, WhatsApp BSUID or wa_id...)
    text: str | None = None
    payload: str | None = None  # a pressed button's payload
    kind: Kind = Kind.TEXT
    contact_phone: str | None = None  # a phone number the user shared with the platform's control
    update_id: str | None = None  # the platform's id for this update; a replay is answered once
    timestamp: datetime | None = None
    display_name: str | None = None
    language_hint: str | None = None  # the platform's language code, used for new contacts only
    start_code: str | None = None  # a campaign or referral code from a deep link (/start CODE)
    phone_hint: str | None = None  # a phone the platform already knows (WhatsApp wa_id)
    extra: dict[str, str] = field(default_factory=dict)
