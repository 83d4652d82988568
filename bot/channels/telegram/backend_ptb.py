"""The python-telegram-bot (v22) backend: library calls only, decisions in common.py.

The Application is a transport here: one TypeHandler passes every update fed to it to the
channel. The channel long-polls with the Bot's own getUpdates (no Updater) so that it can keep
each update in its inbox before confirming it. No ConversationHandler and no persistence:
conversation state is in our database.
"""

from __future__ import annotations

import contextlib
import datetime as dtm
import warnings
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, TypeVar

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram import error as ptb_error
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.channels.telegram import common as tg

T = TypeVar("T")


class PtbBackend:
    name = "python-telegram-bot"

    def __init__(self, token: str, root: str, *, concurrency: int = 8) -> None:
        self.token = token
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{root}/bot")
            .base_file_url(f"{root}/file/bot")
            # The channel polls and feeds updates itself (it keeps each one in its inbox first), so
            # no Updater. A few updates run at once (TELEGRAM_CONCURRENCY, bounded by the channel),
            # each with its own connection for replies. Not hundreds: httpcore scans its whole pool
            # for every queued request, and at 256 updates that scan was most of the bot's CPU.
            .updater(None)
            .connection_pool_size(concurrency + 2)
            .pool_timeout(30.0)
            .get_updates_read_timeout(10.0)  # getUpdates adds its long-poll timeout to this
        )
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self._handler: tg.UpdateHandler | None = None
        self._initialized = False
        self.app.add_handler(TypeHandler(Update, self._dispatch))

    def on_update(self, handler: tg.UpdateHandler) -> None:
        self._handler = handler

    async def _dispatch(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        if self._handler is not None:
            await self._handler(update)

    async def initialize(self) -> None:
        try:
            await _call(self.app.initialize)
        except tg.TelegramError as exc:
            # python-telegram-bot names the token in the error of a rejected getMe.
            raise tg.TelegramError(tg.redact_token(str(exc), self.token)) from None
        self._initialized = True

    async def delete_webhook(self) -> None:
        await _call(self.app.bot.delete_webhook)

    async def get_updates(self, offset: int | None, timeout: float) -> list[dict[str, Any]]:
        updates = await _call(
            lambda: self.app.bot.get_updates(
                offset=offset, timeout=dtm.timedelta(seconds=timeout), allowed_updates=tg.ALLOWED_UPDATES
            )
        )
        return [update.to_dict() for update in updates]

    async def feed(self, raw: dict[str, Any]) -> None:
        # A TypeHandler blocks by default: the handler has run when process_update returns.
        await self.app.process_update(Update.de_json(raw, self.app.bot))

    async def shutdown(self) -> None:
        if not self._initialized:
            return
        self._initialized = False
        with contextlib.suppress(ptb_error.TelegramError):
            await self.app.shutdown()

    async def send_message(self, chat_id: int, text: str, markup: tg.Markup) -> int:
        message = await _call(
            lambda: self.app.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=_markup(markup))
        )
        return message.message_id

    async def answer_callback(self, callback_id: str) -> None:
        await _call(lambda: self.app.bot.answer_callback_query(callback_id))

    async def edit_markup(self, chat_id: int, message_id: int, markup: tg.InlineKeyboard | None) -> None:
        await _call(
            lambda: self.app.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=_inline(markup) if markup else None
            )
        )

    async def set_webhook(self, url: str, secret: str) -> None:
        await _call(lambda: self.app.bot.set_webhook(url, secret_token=secret, allowed_updates=tg.ALLOWED_UPDATES))

    async def set_commands(self, commands: list[tuple[str, str]], language_code: str | None) -> None:
        await _call(
            lambda: self.app.bot.set_my_commands(
                [BotCommand(name, description) for name, description in commands], language_code=language_code
            )
        )


# Menus repeat in most answers; ptb's objects are immutable, so one serves every send.
@lru_cache(maxsize=512)
def _inline(keyboard: tg.InlineKeyboard) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in keyboard.rows]
    )


def _markup(markup: tg.Markup) -> Any:
    if isinstance(markup, tg.InlineKeyboard):
        return _inline(markup)
    if isinstance(markup, tg.ContactKeyboard):
        rows = [[KeyboardButton(markup.share_label, request_contact=True)]]
        rows += [[KeyboardButton(label) for label in row] for row in markup.rows]
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    if isinstance(markup, tg.RemoveKeyboard):
        return ReplyKeyboardRemove()
    return None


async def _call(call: Callable[[], Awaitable[T]]) -> T:
    """Run a library call, its errors turned into the channel's."""
    try:
        return await call()
    except ptb_error.RetryAfter as exc:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # int vs timedelta deprecation notice (PTB 22.2)
            raw = exc.retry_after
        seconds = raw.total_seconds() if isinstance(raw, dtm.timedelta) else float(raw)
        raise tg.RetryAfter(seconds) from exc
    except ptb_error.Forbidden as exc:
        raise tg.Blocked(exc.message) from exc
    except ptb_error.BadRequest as exc:
        raise tg.BadRequest(exc.message) from exc
    except ptb_error.TelegramError as exc:
        raise tg.TelegramError(exc.message) from exc
