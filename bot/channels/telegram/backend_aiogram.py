"""The aiogram (v3) backend: library calls only, decisions in common.py.

The Dispatcher is a transport here: one outer middleware on `update` passes every update fed
to it to the channel. The channel long-polls with the Bot's own getUpdates (not the Dispatcher's
polling) so that it can keep each update in its inbox before confirming it. FSM is disabled:
conversation state is in our database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher
from aiogram import exceptions as aio_error
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    TelegramObject,
)

from bot.channels.telegram import common as tg

T = TypeVar("T")


class AiogramBackend:
    name = "aiogram"

    def __init__(self, token: str, root: str, *, concurrency: int = 8) -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(root), limit=concurrency + 2)
        self.bot = Bot(token, session=session)
        self.dp = Dispatcher(disable_fsm=True)
        self.dp.update.outer_middleware(self._dispatch)
        self._handler: tg.UpdateHandler | None = None
        self._closed = False

    def on_update(self, handler: tg.UpdateHandler) -> None:
        self._handler = handler

    async def _dispatch(
        self,
        _next: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        update: TelegramObject,
        _: dict[str, Any],
    ) -> None:
        if self._handler is not None:
            await self._handler(update)

    async def initialize(self) -> None:
        await _call(self.bot.me)

    async def delete_webhook(self) -> None:
        await _call(self.bot.delete_webhook)

    async def get_updates(self, offset: int | None, timeout: float) -> list[dict[str, Any]]:
        seconds = int(timeout)  # 0: a short poll, which only confirms the offset
        updates = await _call(
            lambda: self.bot.get_updates(
                offset=offset,
                timeout=seconds,
                allowed_updates=tg.ALLOWED_UPDATES,
                request_timeout=int(self.bot.session.timeout) + seconds,
            )
        )
        return [update.model_dump(mode="json", exclude_unset=True, by_alias=True) for update in updates]

    async def feed(self, raw: dict[str, Any]) -> None:
        await self.dp.feed_raw_update(self.bot, raw)

    async def shutdown(self) -> None:
        if not self._closed:
            self._closed = True
            await self.bot.session.close()

    async def send_message(self, chat_id: int, text: str, markup: tg.Markup) -> int:
        message = await _call(
            lambda: self.bot.send_message(chat_id, text, parse_mode="HTML", reply_markup=_markup(markup))
        )
        return message.message_id

    async def answer_callback(self, callback_id: str) -> None:
        await _call(lambda: self.bot.answer_callback_query(callback_id))

    async def edit_markup(self, chat_id: int, message_id: int, markup: tg.InlineKeyboard | None) -> None:
        await _call(
            lambda: self.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=_inline(markup) if markup else None
            )
        )

    async def set_webhook(self, url: str, secret: str) -> None:
        await _call(lambda: self.bot.set_webhook(url, secret_token=secret, allowed_updates=tg.ALLOWED_UPDATES))

    async def set_commands(self, commands: list[tuple[str, str]], language_code: str | None) -> None:
        await _call(
            lambda: self.bot.set_my_commands(
                [BotCommand(command=name, description=description) for name, description in commands],
                language_code=language_code,
            )
        )


# Menus repeat in most answers; building (and validating) their models each time cost a few percent of a send.
@lru_cache(maxsize=512)
def _inline(keyboard: tg.InlineKeyboard) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row] for row in keyboard.rows
        ]
    )


def _markup(markup: tg.Markup) -> Any:
    if isinstance(markup, tg.InlineKeyboard):
        return _inline(markup)
    if isinstance(markup, tg.ContactKeyboard):
        rows = [[KeyboardButton(text=markup.share_label, request_contact=True)]]
        rows += [[KeyboardButton(text=label) for label in row] for row in markup.rows]
        return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, one_time_keyboard=True)
    if isinstance(markup, tg.RemoveKeyboard):
        return ReplyKeyboardRemove(remove_keyboard=True)
    return None


async def _call(call: Callable[[], Awaitable[T]]) -> T:
    """Run a library call, its errors turned into the channel's."""
    try:
        return await call()
    except aio_error.TelegramRetryAfter as exc:
        raise tg.RetryAfter(float(exc.retry_after)) from exc
    except aio_error.TelegramForbiddenError as exc:
        raise tg.Blocked(exc.message) from exc
    except aio_error.TelegramBadRequest as exc:
        raise tg.BadRequest(exc.message) from exc
    except aio_error.TelegramAPIError as exc:
        raise tg.TelegramError(exc.message) from exc
