"""Telegram: receiving (long polling or webhook, through python-telegram-bot or aiogram), live
replies, bulk sends and the HTML it is written in.

channel.py      the live channel: updates in, the engine's replies out, the inbox first
common.py       what both library backends share: the layout of replies, errors, the backend protocol
backend_ptb.py, backend_aiogram.py   the two libraries (TELEGRAM_BACKEND)
format.py       the engine's text as Telegram HTML, split at the 4,096-character limit
inbox.py        updates kept before they are acknowledged
webhook.py      webhook mode: its URL, its secret, where our server listens
bulk.py         broadcasts and reminders: the lean Bot API client and the sender
"""

from __future__ import annotations

from bot.channels.base import (
    BulkSender,
    Capabilities,
    Channel,
    ChannelDeps,
    ChannelSpec,
    Pacing,
    PreviewMessage,
    StaffIdentity,
)
from bot.channels.telegram import common
from bot.channels.telegram.format import MAX_TEXT
from bot.settings import Settings
from handlers.messages import Reply

NAME = "telegram"


def enabled(settings: Settings) -> bool:
    return settings.telegram_enabled


def make(deps: ChannelDeps) -> Channel:
    from bot.channels.telegram.channel import make_telegram_channel

    return make_telegram_channel(deps)


def preview(reply: Reply) -> list[PreviewMessage]:
    """The messages of a reply as sent: HTML (escaped before <b>/<i> were added) and inline keys."""
    out = []
    for message in common.plan([reply], share_label="", reply_keyboard_open=False):
        rows = message.markup.rows if isinstance(message.markup, common.InlineKeyboard) else ()
        labels = tuple(tuple(label for label, _ in row) for row in rows)
        out.append(PreviewMessage(text=message.text, html=message.text, rows=labels))
    return out


def pacing(settings: Settings) -> Pacing:
    per_chat = settings.telegram_rate_per_chat
    return Pacing(settings.telegram_rate_per_second, 1.0 / per_chat if per_chat > 0 else 0.0)


def make_sender(deps: ChannelDeps) -> BulkSender:
    from bot.channels.telegram.bulk import BotApi, TelegramSender

    # Bulk sends need only a message id back: the lean Bot API client, no library backend
    # (its own connections, so a broadcast never holds one a live reply waits for).
    s = deps.settings
    return TelegramSender(None, api=BotApi(s.telegram_api_base_url, s.telegram_bot_token or ""))


def parse_staff_id(text: str) -> str:
    """A staff member's Telegram user id as typed: digits only."""
    text = text.strip()
    if not text.isdigit() or len(text) > 20:
        raise ValueError(text)
    return text


def staff_chat(stored: str) -> str | None:
    """A Telegram user id is also the id of the private chat with them."""
    stored = stored.strip()
    return stored if stored.lstrip("-").isdigit() else None


STAFF_IDENTITY = StaffIdentity(
    parse=parse_staff_id,
    stored=lambda user_id: user_id,
    chat=staff_chat,
    form_field="telegram_id",
    label="telegram_id",
    invalid="bad_telegram_id",
    option="--telegram-id",
    option_invalid="is not a Telegram user id (digits)",
    attrs={"inputmode": "numeric", "pattern": "[0-9]*", "maxlength": "20"},
    example="123456789",
)

SPEC = ChannelSpec(
    name=NAME,
    label="Telegram",
    enabled=enabled,
    make=make,
    make_sender=make_sender,
    capabilities=Capabilities(text_limit=MAX_TEXT, has_templates=False),
    off_hint="off (set TELEGRAM_BOT_TOKEN to turn it on)",
    staff_identity=STAFF_IDENTITY,
    preview=preview,
    pacing=pacing,
)
