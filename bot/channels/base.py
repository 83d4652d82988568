"""What every channel is, so the runtime, the delivery worker and the dashboard treat them alike.

A channel translates: platform updates in -> `IncomingMessage` -> `Engine.handle` -> `Reply`
list -> platform calls out. No business rule lives in a channel.

Each channel is one package, bot/channels/<name>/, whose `__init__.py` holds its `SPEC`: its
name, whether the settings turn it on, how to build it and its bulk sender from `ChannelDeps`,
what it can show, and how a staff member is named on it (`StaffIdentity`).
bot/channels/registry.py lists the specs; nothing else names a channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from starlette.routing import BaseRoute

from bot.channels.outcomes import Job, Result
from bot.settings import Settings
from handlers.messages import Reply

if TYPE_CHECKING:
    from handlers.engine import Engine
    from storage.crypto import FieldCipher
    from storage.db import Database


class Channel(Protocol):
    name: str

    def routes(self) -> Sequence[BaseRoute]:
        """HTTP routes this channel serves on the shared server (webhooks); may be empty."""
        ...

    async def start(self) -> None:
        """Begin receiving (start polling, or register the webhook)."""
        ...

    async def stop(self) -> None:
        """Stop receiving and release connections; must be safe to call twice."""
        ...

    def describe(self) -> str:
        """One line for the start-up banner: what is on and how it receives."""
        ...

    async def send(self, user: str, replies: Sequence[Reply]) -> None:
        """Send the engine's replies to one worker, now (a live conversation, not the outbox)."""
        ...


class BulkSender(Protocol):
    """Sends one outbox row and says what happened (bot/channels/outcomes.py); never retries."""

    channel: str

    async def start(self) -> None: ...

    async def send(self, job: Job) -> Result: ...

    def in_window(self, contact: Any, now: datetime) -> bool:
        """Whether a free-form message may reach `contact` now (WhatsApp: its 24-hour window)."""
        ...

    def has_template(self, purpose: str) -> bool:
        """An approved template for `purpose`, to send outside the window."""
        ...

    def set_send_timeout(self, seconds: float) -> None:
        """How long a send waits for the platform's answer (the worker's BPU_DELIVERY_SEND_TIMEOUT)."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class ChannelDeps:
    """What a channel is built from: built once in bot/runtime.py, never the Runtime itself."""

    settings: Settings
    db: Database
    cipher: FieldCipher
    engine: Engine

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.engine.clock


@dataclass(frozen=True)
class PreviewMessage:
    """One message a worker would get, as the campaign page shows it before a broadcast."""

    text: str
    html: str | None = None  # the text as the channel's own safe HTML, when it is written in HTML
    rows: tuple[tuple[str, ...], ...] = ()  # button labels, row by row
    list_button: str | None = None  # a menu that opens a list (WhatsApp), and its rows
    list_rows: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pacing:
    """How fast bulk sends may go on a channel (its platform's limits, read from the settings)."""

    per_second: float | None  # messages per second before the headroom (None or 0: no limit)
    per_chat_seconds: float = 0.0  # between two messages to one chat


@dataclass(frozen=True)
class Capabilities:
    """What a channel can show, declared beside its formatter; the campaign page reads
    `has_templates` (a note on the template sent outside a messaging window)."""

    text_limit: int | None = None  # characters in one message (None: no limit)
    max_buttons: int | None = None  # buttons one message can carry (None: no limit)
    has_templates: bool = False  # approved templates outside a messaging window (WhatsApp)


@dataclass(frozen=True)
class StaffIdentity:
    """How a channel names a staff member: its stored form (storage.models.StaffIdentity), what
    staff type for it in the dashboard's staff form and `bpu-bot staff add`, and how the
    conversation finds them (it reads `stored` and `chat`: handlers.staff_identity.IdentityRule)."""

    parse: Callable[[str], str]  # what staff typed -> the stored form; ValueError when it is not one
    stored: Callable[[str], str | None]  # a user id on the channel -> the stored form (None: cannot be)
    chat: Callable[[str], str | None]  # the stored form -> the chat that reaches them (None: none)
    form_field: str  # the staff form's field
    label: str  # its label: a key of the dashboard's locales
    invalid: str  # the form's message when `parse` refuses: a key of the dashboard's locales
    option: str  # `bpu-bot staff add`'s option
    option_help: str | None = None
    option_invalid: str = "is not valid"  # the CLI's message when `parse` refuses: "'x' <this>"
    attrs: dict[str, str] = field(default_factory=dict)  # the form input's HTML attributes
    example: str = ""  # what staff would type, for tests/channels/test_registry.py


@dataclass(frozen=True)
class ChannelSpec:
    """One channel, as the registry lists it."""

    name: str  # IncomingMessage.channel, contacts.channel, outbox.channel
    label: str  # shown to staff (the dashboard's campaign page)
    enabled: Callable[[Settings], bool]
    make: Callable[[ChannelDeps], Channel] | None = None  # the live channel served by `bpu-bot run`
    make_sender: Callable[[ChannelDeps], BulkSender] | None = None  # broadcasts and reminders
    capabilities: Capabilities = Capabilities()
    off_hint: str = ""  # the banner's line when `bpu-bot run` does not serve it
    banner: str = ""  # its name in the start-up banner, when not its `name`
    always_on: bool = False  # part of the HTTP server itself: served even by an app built for a test
    staff_identity: StaffIdentity | None = None  # how staff are named on it (None: staff are never on it)
    # A worker's phone number from their user id, on a channel whose user ids are numbers
    # (WhatsApp's wa_id): the handover and the attendee list have a number without asking.
    phone_of_user: Callable[[str], str | None] | None = None
    pacing: Callable[[Settings], Pacing] | None = None  # bulk sends' pace (None: unpaced)
    # A broadcast's reply as the worker gets it here: the campaign page's preview, channel by channel.
    preview: Callable[[Reply], list[PreviewMessage]] | None = None

    @property
    def banner_name(self) -> str:
        return self.banner or self.name

    @property
    def bulk(self) -> bool:
        """Broadcasts and reminders can go out on it: a platform that reaches a worker's phone."""
        return self.make_sender is not None
