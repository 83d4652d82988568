"""The Telegram channel: updates in (polling, or webhook at POST /webhook/telegram), the
engine's replies out, through python-telegram-bot or aiogram (`TELEGRAM_BACKEND`).

The backend only makes library calls; what an update means and how replies are laid out
is decided in telegram_common, so both backends behave the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import weakref
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels import telegram_common as tg
from bot.channels.telegram_common import Blocked, InlineKeyboard, Outgoing, RetryAfter, TelegramError
from bot.settings import Settings
from handlers.messages import Reply
from storage import repositories as repo

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhook/telegram"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_UPDATE_BYTES = 1_000_000
RETRIES_ON_429 = 2
MAX_WAIT_ON_429 = 60.0
_SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Shown in Telegram's command menu (setMyCommands), per language.
COMMAND_DESCRIPTIONS = {
    "id": {
        "start": "Mulai dari awal",
        "menu": "Tampilkan menu",
        "bantuan": "Apa yang bisa saya bantu",
        "berhenti": "Berhenti menerima pesan",
        "hapus": "Hapus data saya",
    },
    "en": {
        "start": "Start over",
        "menu": "Show the menu",
        "bantuan": "What I can help with",
        "berhenti": "Stop receiving messages",
        "hapus": "Delete my data",
    },
}


class TelegramChannel:
    name = "telegram"

    def __init__(
        self,
        runtime: Runtime,
        backend: tg.TelegramBackend,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        poll_timeout: float = 10.0,
        concurrency: int = 8,
    ) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.backend = backend
        self.webhook_url = webhook_url
        self.secret = webhook_secret or ""
        self.poll_timeout = poll_timeout
        self.stats = tg.Stats()
        self._tasks: set[asyncio.Task[None]] = set()
        self._inflight: set[int] = set()
        self._told_groups: set[int] = set()  # groups already told that the bot works in private
        self._reply_keyboard_open: set[int] = set()  # chats shown the "share my phone" keyboard
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._done = asyncio.Condition()
        # Webhook updates are fed to the library by us, past its own concurrency limit.
        self._slots = asyncio.Semaphore(concurrency)
        self._started = False
        self._active = 0
        backend.on_update(self._on_update)

    # -- Channel protocol -----------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        if not self.webhook_url:
            return []
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])]

    async def start(self) -> None:
        await self.backend.initialize()
        await self._set_commands()
        if self.webhook_url:
            await self.backend.set_webhook(self.webhook_url, self.secret)
        else:
            await self.backend.start_polling(self.poll_timeout)
        self._started = True

    async def stop(self) -> None:
        # No new updates, then the ones under way finish their replies, then the connections
        # close: a restart loses no bubble of an answer being sent.
        await self.backend.stop_receiving()
        await self.drain()
        await self.backend.shutdown()
        self._started = False

    def describe(self) -> str:
        how = f"webhook {self.webhook_url}" if self.webhook_url else "long polling"
        return f"{how} ({self.backend.name})"

    # -- receiving --------------------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(given.encode(), self.secret.encode()):
            return JSONResponse({"ok": False, "description": "wrong secret token"}, status_code=403)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return JSONResponse({"ok": False, "description": "update too large"}, status_code=413)
        try:
            raw = json.loads(body)
            update_id = int(raw["update_id"])
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"ok": False, "description": "not an update"}, status_code=400)
        if update_id not in self._inflight:  # a retry while the first delivery is still running
            self._inflight.add(update_id)
            self._spawn(self._feed(update_id, raw))
        return JSONResponse({"ok": True})

    async def _feed(self, update_id: int, raw: dict[str, Any]) -> None:
        try:
            async with self._slots:
                await self.backend.feed(raw)
        finally:
            self._inflight.discard(update_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every update received so far (webhook or polling) is processed."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        async with self._done:
            await self._done.wait_for(lambda: self._active == 0)

    async def wait_processed(self, count: int, timeout: float = 10.0) -> None:
        """Wait until `count` updates in all were processed (tests and the benchmark)."""
        async with self._done:
            await asyncio.wait_for(self._done.wait_for(lambda: self.stats.processed >= count), timeout)

    async def _on_update(self, update: Any) -> None:
        self._active += 1
        try:
            await self.process(tg.read_update(update))
        except Exception:
            log.exception("telegram update could not be processed")
        finally:
            self._active -= 1
            self.stats.processed += 1
            async with self._done:
                self._done.notify_all()

    async def process(self, ev: tg.TgEvent) -> None:
        inbound = tg.decide(ev)
        if inbound.chat_id is None:
            return
        lock = self._locks.get(inbound.chat_id)
        if lock is None:
            lock = self._locks[inbound.chat_id] = asyncio.Lock()
        async with lock:  # one chat's updates are answered in order, never interleaved
            await self._process(inbound)

    async def _process(self, inbound: tg.Inbound) -> None:
        chat_id = inbound.chat_id
        assert chat_id is not None
        if inbound.callback_id:
            await self._quietly(self.backend.answer_callback(inbound.callback_id))
        if inbound.strip_keyboard_of is not None:
            # The pressed message loses its buttons: an old button cannot be pressed twice.
            await self._quietly(self.backend.edit_markup(chat_id, inbound.strip_keyboard_of, None))
        if inbound.unreachable and inbound.message is None:
            await self.engine.mark_unreachable(tg.CHANNEL, str(chat_id))
            return
        if inbound.message is None:
            return
        if inbound.group:
            if chat_id in self._told_groups:
                return
            self._told_groups.add(chat_id)
        replies = await self.engine.handle(inbound.message)
        if replies:
            await self.deliver(chat_id, inbound.message.user_id, replies)

    # -- sending ----------------------------------------------------------------------------

    async def deliver(self, chat_id: int, user_id: str, replies: Sequence[Reply]) -> None:
        share_label = await self._share_label(user_id) if any(r.request_phone for r in replies) else ""
        try:
            messages = tg.plan(
                replies, share_label=share_label, reply_keyboard_open=chat_id in self._reply_keyboard_open
            )
        except ValueError:
            self.stats.send_failures += 1
            log.exception("replies for telegram chat %s cannot be laid out", chat_id)
            return
        if any(r.request_phone for r in replies):
            self._reply_keyboard_open.add(chat_id)
        else:
            self._reply_keyboard_open.discard(chat_id)
        for message in messages:
            try:
                await self._send(chat_id, message)
            except Blocked:
                log.info("telegram user %s blocked the bot: marked unreachable", user_id)
                await self.engine.mark_unreachable(tg.CHANNEL, user_id)
                return
            except TelegramError as exc:
                self.stats.send_failures += 1
                log.warning("telegram send to %s failed: %s", chat_id, exc)
                return

    async def _send(self, chat_id: int, message: Outgoing) -> None:
        message_id = await self._with_retry(lambda: self.backend.send_message(chat_id, message.text, message.markup))
        if message.then_inline is not None:
            inline: InlineKeyboard = message.then_inline
            await self._with_retry(lambda: self.backend.edit_markup(chat_id, message_id, inline))

    async def _with_retry(self, call: Any) -> Any:
        for attempt in range(RETRIES_ON_429 + 1):
            try:
                return await call()
            except RetryAfter as exc:
                if attempt == RETRIES_ON_429:
                    raise
                await asyncio.sleep(min(max(exc.seconds, 0.0), MAX_WAIT_ON_429))
        raise AssertionError("unreachable")

    async def _quietly(self, coro: Coroutine[Any, Any, None]) -> None:
        """Answering a callback or removing a keyboard may fail (too old, already gone): fine."""
        try:
            await coro
        except TelegramError as exc:
            log.debug("telegram housekeeping call failed: %s", exc)

    async def _share_label(self, user_id: str) -> str:
        lang = "id"
        async with self.runtime.db.session() as session:
            contact = await repo.get_contact(session, tg.CHANNEL, user_id)
            if contact is not None and contact.language:
                lang = contact.language
        return self.engine.services.renderer.label("share_phone", lang)

    async def _set_commands(self) -> None:
        for lang, code in (("id", None), ("en", "en")):
            commands = [(name, _description(self.runtime, name, lang)) for name in tg.COMMANDS]
            try:
                await self.backend.set_commands(commands, code)
            except TelegramError as exc:
                log.warning("setMyCommands (%s) failed: %s", lang, exc)


def _description(runtime: Runtime, name: str, lang: str) -> str:
    try:
        return runtime.engine.services.renderer.label(f"command_{name}", lang)
    except KeyError:
        return COMMAND_DESCRIPTIONS[lang][name]


def webhook_url(settings: Settings) -> str | None:
    """TELEGRAM_WEBHOOK_URL as given, or with /webhook/telegram added when it has no path."""
    url = settings.telegram_webhook_url
    if not url:
        return None
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        parts = parts._replace(path=WEBHOOK_PATH)
    return urlunsplit(parts)


def webhook_secret(settings: Settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one generated once and kept in a 0600 file beside the database."""
    if settings.telegram_webhook_secret:
        if not _SECRET_CHARS.match(settings.telegram_webhook_secret):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
        return settings.telegram_webhook_secret
    base = settings.secret_file()
    path = base.with_name(base.name.removesuffix(".secret") + ".telegram-secret")
    return _kept_secret(path)


def _kept_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)  # only A-Z a-z 0-9 _ -, as setWebhook requires
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    return secret


def make_backend(settings: Settings, *, poll_timeout: float = 10.0) -> tg.TelegramBackend:
    token = settings.telegram_bot_token
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    root = settings.telegram_api_base_url.rstrip("/")
    webhook = bool(settings.telegram_webhook_url)
    if settings.telegram_backend == "aiogram":
        from bot.channels.telegram_aiogram import AiogramBackend

        return AiogramBackend(token, root, concurrency=settings.telegram_concurrency)
    from bot.channels.telegram_ptb import PtbBackend

    return PtbBackend(
        token, root, polling=not webhook, poll_timeout=poll_timeout, concurrency=settings.telegram_concurrency
    )


def make_telegram_channel(runtime: Runtime, *, poll_timeout: float = 10.0) -> TelegramChannel:
    settings = runtime.settings
    url = webhook_url(settings)
    return TelegramChannel(
        runtime,
        make_backend(settings, poll_timeout=poll_timeout),
        webhook_url=url,
        webhook_secret=webhook_secret(settings) if url else None,
        poll_timeout=poll_timeout,
        concurrency=settings.telegram_concurrency,
    )
