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


@dataclass(frozen=True, slots=True)
class Button:
    """One option. `payload` comes back in `IncomingMessage.payload` when pressed."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One bubble. Text uses a tiny markup that every channel can render:
    `*bold*` and `_italic_` (WhatsApp's own); the Telegram adapter turns them into HTML.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    request_phone: bool = False  # show a "share my phone number" control where the channel has one


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
