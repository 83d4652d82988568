"""What both Telegram backends share: reading an update, deciding what the engine gets,
and laying replies out as Bot API messages and keyboards.

The two backends (python-telegram-bot and aiogram) differ only in library calls; every
decision lives here, as plain functions with table tests. python-telegram-bot's and
aiogram's update objects both mirror the Bot API's field names, so `read_update` reads
either into a `TgEvent` and no library type goes further.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.channels.telegram import format as fmt
from handlers import links
from handlers.messages import Button, IncomingMessage, Kind, Reply

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
# The commands shown in Telegram's menu (setMyCommands); the engine understands each.
COMMANDS = ("start", "menu", "bantuan", "berhenti", "hapus")
_PRIVATE = "private"

# What a message holds, probed in this order (https://core.telegram.org/bots/api#message).
_CONTENT: tuple[tuple[str, Kind], ...] = (
    ("contact", Kind.CONTACT),
    ("sticker", Kind.STICKER),
    ("photo", Kind.PHOTO),
    ("voice", Kind.VOICE),
    ("audio", Kind.VOICE),
    ("video_note", Kind.VIDEO),
    ("video", Kind.VIDEO),
    ("animation", Kind.VIDEO),
    ("document", Kind.DOCUMENT),
    ("venue", Kind.LOCATION),
    ("location", Kind.LOCATION),
)


# -- errors each backend maps its library's exceptions to -------------------------------


class TelegramError(Exception):
    """A Bot API call failed for a reason not listed below."""


class Blocked(TelegramError):
    """403: the user blocked the bot or was deactivated. Permanent: never retried."""


class RetryAfter(TelegramError):
    """429: flood control; the Bot API says how long to wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class BadRequest(TelegramError):
    """400: e.g. "message is not modified" when a keyboard is already gone."""


# -- keyboards, neutral -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InlineKeyboard:
    rows: tuple[tuple[tuple[str, str], ...], ...]  # (label, callback_data)


@dataclass(frozen=True, slots=True)
class ContactKeyboard:
    """A reply keyboard: "share my phone number" (request_contact), then plain-text buttons."""

    share_label: str
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class RemoveKeyboard:
    pass


Markup = InlineKeyboard | ContactKeyboard | RemoveKeyboard | None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One sendMessage; `then_inline` is added with editMessageReplyMarkup right after."""

    text: str
    markup: Markup = None
    then_inline: InlineKeyboard | None = None


def _width(labels: Sequence[str]) -> int:
    longest = max((len(label) for label in labels), default=0)
    if longest <= 12:
        return 3
    if longest <= 22:
        return 2
    return 1


def _rows(items: Sequence[Any], labels: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
    width = _width(labels)
    return tuple(tuple(items[i : i + width]) for i in range(0, len(items), width))


def inline_keyboard(buttons: Sequence[Button]) -> InlineKeyboard:
    """Buttons as an inline keyboard, up to three short labels a row."""
    for button in buttons:
        if not 1 <= len(button.payload.encode()) <= fmt.MAX_CALLBACK_DATA:
            raise ValueError(f"callback data must be 1-64 bytes: {button.payload!r}")
    pairs = [(b.label, b.payload) for b in buttons]
    return InlineKeyboard(_rows(pairs, [b.label for b in buttons]))


def contact_keyboard(share_label: str, buttons: Sequence[Button]) -> ContactKeyboard:
    """Inline buttons cannot share a message with a reply keyboard, so the other buttons
    become plain-text buttons: pressing one sends its label ("Kembali", "Batal"), which the
    engine reads as the same word typed."""
    labels = [b.label for b in buttons]
    return ContactKeyboard(share_label, _rows(labels, labels) if labels else ())


def plan(replies: Sequence[Reply], *, share_label: str, reply_keyboard_open: bool) -> list[Outgoing]:
    """The engine's replies -> the messages to send, in order.

    A bubble over 4,096 characters becomes several messages; its buttons go on the last.
    A reply keyboard left open by the phone question is removed by the next messages: on
    the first one without an inline keyboard or, when every one has buttons, on the first
    message, whose inline keyboard is then added by an edit.
    """
    out: list[Outgoing] = []
    asks_phone = any(r.request_phone for r in replies)
    for reply in replies:
        parts = fmt.render(reply.text)
        for i, text in enumerate(parts):
            markup: Markup = None
            if i == len(parts) - 1:
                if reply.request_phone:
                    markup = contact_keyboard(share_label, reply.buttons)
                elif reply.buttons:
                    markup = inline_keyboard(reply.buttons)
            out.append(Outgoing(text, markup))
    if reply_keyboard_open and not asks_phone and out:
        for i, message in enumerate(out):
            if message.markup is None:
                out[i] = Outgoing(message.text, RemoveKeyboard())
                break
        else:
            first = out[0]
            inline = first.markup if isinstance(first.markup, InlineKeyboard) else None
            out[0] = Outgoing(first.text, RemoveKeyboard(), then_inline=inline)
    return out


# -- updates -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TgEvent:
    """The facts of one update that matter here, read out of either library's Update."""

    update_id: int
    type: str  # message, edited_message, callback_query, my_chat_member, other
    chat_id: int | None = None
    chat_type: str | None = None
    user_id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    date: datetime | None = None
    text: str | None = None
    content: Kind | None = None
    contact_phone: str | None = None
    contact_user_id: int | None = None
    callback_id: str | None = None
    callback_data: str | None = None
    message_id: int | None = None  # the message whose button was pressed
    member_status: str | None = None  # my_chat_member: the bot's new status


def read_update(update: Any) -> TgEvent:
    """Read a python-telegram-bot or aiogram `Update` (both use the Bot API's names)."""
    uid = int(update.update_id)
    for kind in ("message", "edited_message"):
        message = getattr(update, kind, None)
        if message is not None:
            return _read_message(uid, kind, message)
    query = getattr(update, "callback_query", None)
    if query is not None:
        user = query.from_user
        message = query.message  # None for inline-mode messages; date 0 when inaccessible
        return TgEvent(
            update_id=uid,
            type="callback_query",
            chat_id=message.chat.id if message is not None else user.id,
            chat_type=str(message.chat.type) if message is not None else _PRIVATE,
            callback_id=str(query.id),
            callback_data=query.data,
            message_id=message.message_id if message is not None else None,
            **_user(user),
        )
    member = getattr(update, "my_chat_member", None)
    if member is not None:
        return TgEvent(
            update_id=uid,
            type="my_chat_member",
            chat_id=member.chat.id,
            chat_type=str(member.chat.type),
            member_status=str(member.new_chat_member.status),
            **_user(member.from_user),
        )
    return TgEvent(update_id=uid, type="other")


def _user(user: Any) -> dict[str, Any]:
    if user is None:
        return {}
    return {
        "user_id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language_code": user.language_code,
    }


def _read_message(uid: int, kind: str, message: Any) -> TgEvent:
    content: Kind | None = Kind.TEXT if message.text is not None else None
    contact = message.contact
    if content is None:
        content = next((k for name, k in _CONTENT if getattr(message, name, None)), Kind.UNSUPPORTED)
    return TgEvent(
        update_id=uid,
        type=kind,
        chat_id=message.chat.id,
        chat_type=str(message.chat.type),
        date=message.date,
        text=message.text,
        content=content,
        contact_phone=contact.phone_number if contact is not None else None,
        contact_user_id=contact.user_id if contact is not None else None,
        **_user(message.from_user),
    )


def chat_of(raw: dict[str, Any]) -> int | None:
    """The chat an update (as JSON) belongs to: the same chat `read_update` finds, read before
    the update reaches a library, so that one chat's updates are handled in order."""
    for kind in ("message", "edited_message", "my_chat_member"):
        part = raw.get(kind)
        if isinstance(part, dict):
            return _id(part.get("chat"))
    query = raw.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return _id(message["chat"])
        return _id(query.get("from"))
    return None


def _id(part: Any) -> int | None:
    value = part.get("id") if isinstance(part, dict) else None
    return value if isinstance(value, int) else None


@dataclass(frozen=True, slots=True)
class Inbound:
    """What to do with one update."""

    message: IncomingMessage | None = None  # for the engine; None: the engine hears nothing
    chat_id: int | None = None
    group: bool = False  # not a private chat: explain once, say nothing more there
    callback_id: str | None = None  # answer it (every button press is answered)
    strip_keyboard_of: int | None = None  # the pressed message: its keyboard is removed
    unreachable: bool = False  # the user blocked the bot


def decide(ev: TgEvent) -> Inbound:
    if ev.user_id is None or ev.chat_id is None:
        return Inbound()  # channel posts, polls and other updates with no one to answer
    user = str(ev.user_id)
    group = ev.chat_type != _PRIVATE
    if ev.type == "my_chat_member":
        # In a private chat this update comes only when the user blocks or unblocks the bot.
        return Inbound(chat_id=ev.chat_id, unreachable=not group and ev.member_status == "kicked")
    base = dict(
        channel=CHANNEL,
        user_id=user,
        update_id=str(ev.update_id),
        timestamp=ev.date,
        display_name=" ".join(p for p in (ev.first_name, ev.last_name) if p) or None,
        language_hint=_language(ev.language_code),
        extra={"chat": "group"} if group else {},
    )
    if ev.type == "callback_query":
        message = IncomingMessage(payload=ev.callback_data or "", kind=Kind.BUTTON, **base)  # type: ignore[arg-type]
        return Inbound(message, ev.chat_id, group, ev.callback_id, ev.message_id)
    if ev.type == "edited_message":
        # An edit is never read again as an answer (a form step could be answered twice).
        message = IncomingMessage(kind=Kind.UNSUPPORTED, **base)  # type: ignore[arg-type]
        return Inbound(message, ev.chat_id, group)
    if ev.type != "message":
        return Inbound()
    kind = ev.content or Kind.UNSUPPORTED
    text, start_code = _command(ev.text) if kind == Kind.TEXT else (None, None)
    phone = None
    if kind == Kind.CONTACT and ev.contact_user_id == ev.user_id:
        phone = ev.contact_phone  # someone else's card is never taken as the worker's own number
    message = IncomingMessage(
        text=text,
        kind=kind,
        contact_phone=phone,
        start_code=start_code,
        **base,  # type: ignore[arg-type]
    )
    return Inbound(message, ev.chat_id, group)


def _language(code: str | None) -> str | None:
    return code.split("-")[0].lower() if code else None


def _command(text: str | None) -> tuple[str | None, str | None]:
    """`/start@bpu_bot CODE` -> ("/start CODE", "CODE"); other text unchanged."""
    if not text or not text.startswith("/"):
        return text, None
    word, _, rest = text.partition(" ")
    word = word.split("@", 1)[0]
    text = f"{word} {rest}" if rest else word
    return text, links.start_code(text)  # t.me/<bot>?start=<code> allows the codes links.CODE allows


# -- what a backend provides ----------------------------------------------------------------

UpdateHandler = Callable[[Any], Awaitable[None]]


class TelegramBackend(Protocol):
    """One Telegram library behind the channel. Raises the errors above, nothing else."""

    name: str

    def on_update(self, handler: UpdateHandler) -> None:
        """Every update given to `feed` goes through the library to `handler`, in the same task."""
        ...

    async def initialize(self) -> None: ...  # getMe (the token is checked here); then `feed` works

    async def delete_webhook(self) -> None: ...  # before polling: getUpdates fails while one is set

    async def get_updates(self, offset: int | None, timeout: float) -> list[dict[str, Any]]:
        """One long poll (getUpdates, ALLOWED_UPDATES); the updates as Bot API JSON. Calling it
        with `offset` confirms every update below it: Telegram will not send those again."""
        ...

    async def feed(self, raw: dict[str, Any]) -> None: ...  # an update (Bot API JSON), through the library

    async def shutdown(self) -> None: ...  # close connections; safe twice

    async def send_message(self, chat_id: int, text: str, markup: Markup) -> int: ...

    async def answer_callback(self, callback_id: str) -> None: ...

    async def edit_markup(self, chat_id: int, message_id: int, markup: InlineKeyboard | None) -> None: ...

    async def set_webhook(self, url: str, secret: str) -> None: ...

    async def set_commands(self, commands: list[tuple[str, str]], language_code: str | None) -> None: ...


class RedactToken(logging.Filter):
    """Writes <token> where the bot token would appear in a log line: httpx logs every request
    URL at INFO, and a Bot API URL holds the token."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token and self.token in message:
            record.msg, record.args = redact_token(message, self.token), None
        return True


def redact_token(text: str, token: str) -> str:
    return text.replace(token, "<token>") if token else text


@dataclass
class Stats:
    processed: int = 0  # updates handled to the end (for tests and the benchmark)
    deferred: int = 0  # times an update met a database outage and was kept to be handled later
    send_failures: int = 0
    extra: dict[str, int] = field(default_factory=dict)
