"""One message's worth of context, passed explicitly to every handler."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from content.render import Renderer
from handlers.messages import Button, IncomingMessage, Reply
from handlers.nlu import IntentMatcher
from handlers.staff_identity import IdentityRules
from storage.crypto import FieldCipher
from storage.models import Contact, ConversationState
from storage.turns import TurnStore


@dataclass(slots=True)
class Services:
    """What handlers may use; built once by the engine."""

    renderer: Renderer
    matcher: IntentMatcher
    cipher: FieldCipher
    timezone: str
    office_hours: str = "Senin-Jumat 08.00-16.00"  # when a callback can be expected (BPU_OFFICE_HOURS)
    telegram_username: str | None = None  # for invitation links (TELEGRAM_BOT_USERNAME)
    whatsapp_number: str | None = None  # for click-to-chat links (WHATSAPP_DISPLAY_NUMBER)
    reminder_days_before: int = 3  # BPU_REMINDER_DAYS_BEFORE
    reminder_hour: int = 9  # BPU_REMINDER_HOUR, local time
    whatsapp_daily_limit: int = 250  # WHATSAPP_DAILY_LIMIT, for a staff broadcast's estimate
    broadcast_channels: tuple[str, ...] = ()  # where a staff broadcast goes (bot/channels/registry.py)
    staff_identities: IdentityRules = field(default_factory=dict)  # how staff are named per channel (registry)
    # channel -> a worker's phone from their user id, where user ids are numbers (registry: WhatsApp)
    user_phones: Mapping[str, Callable[[str], str | None]] = field(default_factory=dict)

    def phone_of(self, contact: Contact) -> str | None:
        """The worker's number as their chat gives it (None on a channel whose ids are not numbers)."""
        read = self.user_phones.get(contact.channel)
        return read(contact.external_id) if read is not None else None


@dataclass(slots=True)
class Turn:
    msg: IncomingMessage
    text: str  # the cleaned text of the message ("" for a button or media)
    contact: Contact
    state: ConversationState
    store: TurnStore  # this message's transaction
    services: Services
    now: datetime
    today: date
    replies: list[Reply] = field(default_factory=list)
    intent: str | None = None  # what the message was understood as, for the log
    deleted: bool = False  # the contact's data was deleted during this turn

    @property
    def session(self) -> AsyncSession:
        """An ORM session in this message's transaction, opened on first use (most turns need none)."""
        return self.store.session()

    @property
    def lang(self) -> str:
        return self.contact.language or "id"

    def label(self, key: str) -> str:
        return self.services.renderer.label(key, self.lang)

    def button(self, key: str, payload: str) -> Button:
        return Button(self.label(key), payload)

    def say(
        self,
        template: str,
        *,
        buttons: tuple[Button, ...] | list[Button] = (),
        request_phone: bool = False,
        **context: Any,
    ) -> None:
        """Render a template into one reply, with its buttons."""
        text = self.services.renderer.render(template, self.lang, today=self.today, **context)
        self.replies.append(Reply(text=text, buttons=tuple(buttons), request_phone=request_phone))

    @property
    def data(self) -> dict[str, Any]:
        return self.state.data

    def save_data(self, **changes: Any) -> None:
        # JSON columns track changes only on reassignment, so build a new dict.
        self.state.data = {**self.state.data, **changes}

    def drop_data(self, *keys: str) -> None:
        self.state.data = {k: v for k, v in self.state.data.items() if k not in keys}
