"""The Telegram channel: updates in (polling, or webhook at POST /webhook/telegram), the
engine's replies out, through python-telegram-bot or aiogram (`TELEGRAM_BACKEND`).

The backend only makes library calls; what an update means and how replies are laid out
is decided in common.py, so both backends behave the same.

No update is acknowledged before it is kept in the inbox (inbox.py): the webhook
answers 200 after the commit (503 when the database cannot take it: Telegram sends it again),
and polling confirms a batch with the next getUpdates offset only once the batch is kept. An
update whose handling meets a database outage is not answered with an apology: it is handled
again, with growing pauses, once the database is back; the chat's next updates wait behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import weakref
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels import order
from bot.channels.order import chat_key
from bot.channels.telegram import common as tg
from bot.channels.telegram.common import Blocked, InlineKeyboard, Outgoing, RetryAfter, TelegramError
from bot.channels.telegram.inbox import TelegramInbox
from bot.channels.telegram.webhook import (
    WEBHOOK_PATH,
    serving_address,
    wait_listening,
    webhook_secret,
    webhook_url,
)
from bot.safe_json import BadJSON, read_object
from bot.settings import Settings
from handlers.engine import is_database_outage
from handlers.messages import Reply
from storage import repositories as repo

if TYPE_CHECKING:
    from bot.channels.base import ChannelDeps
    from handlers.engine import Engine

log = logging.getLogger(__name__)
GROUP_TOLD = "telegram:group"  # inbound_updates kind: groups told the bot works in private

SECRET_HEADER = "x-telegram-bot-api-secret-token"
# Telegram counts updates up from a positive number; a 4,000-digit id would not even fit the
# column that records it (inbound_updates.platform_id) and be retried forever as an outage.
MAX_UPDATE_ID = 2**63 - 1
RETRIES_ON_429 = 2
MAX_WAIT_ON_429 = 60.0
RETRY_DELAYS = (1.0, 30.0)  # seconds: the first and the longest pause while the database is out of reach


# Shown in Telegram's command menu (setMyCommands), per language.
class TelegramChannel:
    name = "telegram"

    def __init__(
        self,
        deps: ChannelDeps,
        backend: tg.TelegramBackend,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        poll_timeout: float = 10.0,
        concurrency: int = 8,
        retry_delays: tuple[float, float] = RETRY_DELAYS,
        serving_address: tuple[str, int] | None = None,
    ) -> None:
        """`retry_delays`: the first and the longest pause before trying the database (or the Bot
        API) again. `serving_address`: where our HTTP server listens; in webhook mode setWebhook
        waits until it accepts connections, so Telegram's first POST finds the route."""
        self.db = deps.db
        self.engine = deps.engine
        self.backend = backend
        self.inbox = TelegramInbox(deps.db, deps.cipher)
        self.webhook_url = webhook_url
        self.secret = webhook_secret or ""
        self.poll_timeout = poll_timeout
        self.retry_delays = retry_delays
        self.serving_address = serving_address
        self.stats = tg.Stats()
        self._tasks: set[asyncio.Task[None]] = set()
        # Webhook: the update ids being kept or handled, each with whether it was kept.
        self._inflight: dict[int, asyncio.Future[bool]] = {}
        self._deferred: set[int] = set()  # update ids whose handling met a database outage
        self._reply_keyboard_open: set[int] = set()  # chats shown the "share my phone" keyboard
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._done = asyncio.Condition()
        self._slots = asyncio.Semaphore(concurrency)  # TELEGRAM_CONCURRENCY: updates handled at once
        self._stopping = asyncio.Event()
        self._resumed = asyncio.Event()  # rows left from before start are queued first
        self._receiver: asyncio.Task[None] | None = None  # the polling loop, or the webhook setter
        self._offset: int | None = None  # polling: the next getUpdates offset (all below are kept)
        self._long_poll: asyncio.Future[list[dict[str, Any]]] | None = None
        self._started = False
        self._active = 0
        backend.on_update(self._on_update)

    # -- Channel protocol -----------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        if not self.webhook_url:
            return []
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])]

    async def start(self) -> None:
        self._stopping.clear()
        self._resumed.clear()
        await self.backend.initialize()  # from here the library can process updates
        await self._set_commands()
        self._spawn(self._resume())
        if self.webhook_url:
            # Not awaited: during startup our HTTP server is not listening yet.
            self._receiver = asyncio.create_task(self._set_webhook_when_serving())
        else:
            await self.backend.delete_webhook()
            self._receiver = asyncio.create_task(self._poll())
        self._started = True

    async def stop(self) -> None:
        # No new updates, then the ones under way finish their replies, then the connections
        # close: a restart loses no bubble of an answer being sent. Updates still waiting for
        # the database stay in the inbox for the next start.
        self._stopping.set()
        if self._receiver is not None:
            if self.webhook_url:
                self._receiver.cancel()
            elif self._long_poll is not None:
                # Only the long poll is cut short: a batch being kept finishes its transaction
                # (a write cancelled halfway leaves the pool a connection to clean up).
                self._long_poll.cancel()
            await asyncio.gather(self._receiver, return_exceptions=True)
            self._receiver = None
        await self._confirm_offset()
        await self.drain()
        await self.inbox.close()
        await self.backend.shutdown()
        self._started = False

    def describe(self) -> str:
        how = f"webhook {self.webhook_url}" if self.webhook_url else "long polling"
        return f"{how} ({self.backend.name})"

    # -- receiving: webhook -----------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(given.encode(), self.secret.encode()):
            return JSONResponse({"ok": False, "description": "wrong secret token"}, status_code=403)
        try:
            raw = read_object(await request.body())  # its size is bounded by bot/limits.py
        except BadJSON as exc:
            return JSONResponse({"ok": False, "description": str(exc)}, status_code=400)
        update_id = raw.get("update_id")
        if type(update_id) is not int or not 0 <= update_id <= MAX_UPDATE_ID:
            return JSONResponse({"ok": False, "description": "not an update"}, status_code=400)
        kept = self._inflight.get(update_id)
        if kept is None:
            kept = self._inflight[update_id] = asyncio.get_running_loop().create_future()
            self._spawn(self._keep_and_handle(update_id, raw, kept))
        # A retry while the first delivery is still running gets the first one's answer.
        if await asyncio.shield(kept):
            return JSONResponse({"ok": True})
        return JSONResponse({"ok": False, "description": "database unavailable, send again"}, status_code=503)

    async def _keep_and_handle(self, update_id: int, raw: dict[str, Any], kept: asyncio.Future[bool]) -> None:
        """Its own task: a client that hangs up cannot cancel the write halfway."""
        try:
            try:
                (inbox_id,) = await self.inbox.keep([raw])
            except Exception as exc:
                log.warning("telegram: update not kept (database: %s); answered 503, Telegram sends it again",
                            type(exc).__name__)  # fmt: skip
                kept.set_result(False)
                return
            kept.set_result(True)
            await self._handle(inbox_id, raw)
        finally:
            if not kept.done():
                kept.set_result(False)
            self._inflight.pop(update_id, None)

    async def _set_webhook_when_serving(self) -> None:
        assert self.webhook_url
        if self.serving_address is not None:
            await wait_listening(*self.serving_address)
        attempt = 0
        while True:
            try:
                await self.backend.set_webhook(self.webhook_url, self.secret)
                return
            except tg.BadRequest as exc:
                log.error("telegram setWebhook refused: %s", exc)
                return
            except TelegramError as exc:
                attempt += 1
                log.warning("telegram setWebhook failed (%s); trying again", exc)
                await self._pause(attempt)

    # -- receiving: polling -----------------------------------------------------------------

    async def _poll(self) -> None:
        """Long polling of our own over the library's getUpdates: a batch is kept in the inbox
        (one transaction) before the next call confirms it with a higher offset."""
        failures = 0
        while not self._stopping.is_set():
            self._long_poll = asyncio.ensure_future(self.backend.get_updates(self._offset, self.poll_timeout))
            try:
                updates = await self._long_poll
            except asyncio.CancelledError:
                if self._long_poll.cancelled() and self._stopping.is_set():
                    return
                raise
            except Exception as exc:
                failures += 1
                log.warning("telegram getUpdates failed (%s: %s); trying again", type(exc).__name__, exc)
                await self._pause(failures)
                continue
            failures = 0
            if not updates:
                continue
            kept = await self._keep(updates)
            if kept is None:
                return  # stopping before the batch was kept: Telegram sends it again
            self._offset = max(int(u["update_id"]) for u in updates) + 1
            for (inbox_id, kept_elsewhere), raw in zip(kept, updates, strict=True):
                self._spawn(self._handle(inbox_id, raw, kept_elsewhere=kept_elsewhere))

    async def _keep(self, updates: Sequence[dict[str, Any]]) -> list[tuple[int, bool]] | None:
        """The batch's inbox ids, trying again while the database cannot take it (the offset
        stays, so nothing is confirmed); None when the channel stops first."""
        attempt = 0
        while not self._stopping.is_set():
            try:
                return await self.inbox.keep_batch(updates)
            except Exception as exc:
                attempt += 1
                log.warning("telegram: %d updates not kept (database: %s); polling paused",
                            len(updates), type(exc).__name__)  # fmt: skip
                await self._pause(attempt)
        return None

    async def _confirm_offset(self) -> None:
        """Tell Telegram the last batch was received, so that a restart does not get it again
        (harmless if it did: each update id is answered once)."""
        offset, self._offset = self._offset, None
        if self.webhook_url or offset is None:
            return
        try:
            await asyncio.wait_for(self.backend.get_updates(offset, 0), 5.0)
        except Exception as exc:
            log.info("telegram: last offset not confirmed (%s: %s)", type(exc).__name__, exc)

    # -- handling ---------------------------------------------------------------------------

    async def _resume(self) -> None:
        """Queue the updates kept before a crash or restart, ahead of any new one."""
        attempt = 0
        try:
            while not self._stopping.is_set():
                try:
                    rows = await self.inbox.left()
                    break
                except Exception as exc:
                    attempt += 1
                    log.warning("telegram: inbox not readable yet (database: %s)", type(exc).__name__)
                    await self._pause(attempt)
            else:
                return
            for inbox_id, raw in rows:
                self._spawn(self._handle(inbox_id, raw, resumed=True))
            if rows:
                log.info("telegram: %d updates kept from before the start are handled now", len(rows))
        finally:
            self._resumed.set()

    async def _handle(
        self, inbox_id: int, raw: dict[str, Any], *, resumed: bool = False, kept_elsewhere: bool = True
    ) -> None:
        """Handle a kept update until it is done, then let its inbox row go. While the database is
        out of reach it is tried again, later and later; the chat's next updates wait behind it.
        `kept_elsewhere`: another process may hold an earlier update of this chat (a polled batch
        knows it was not so when it was kept)."""
        if not resumed:
            await self._resumed.wait()
        chat = tg.chat_of(raw)
        async with self._chat_lock(chat):
            if kept_elsewhere:  # that earlier update goes first
                await order.wait_turn(
                    self.db, tg.CHANNEL, chat_key(chat), inbox_id, handled_here=self.inbox.about_to_go
                )
            attempt = 0
            while True:
                async with self._slots:
                    done = await self._feed(raw)
                if done:
                    self.inbox.handled(inbox_id)
                    return
                if self._stopping.is_set():
                    return  # kept in the inbox: handled on the next start
                attempt += 1
                await self._pause(attempt)

    def _chat_lock(self, chat_id: int | None) -> asyncio.Lock:
        if chat_id is None:
            return asyncio.Lock()
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    async def _feed(self, raw: dict[str, Any]) -> bool:
        """Through the library to `_on_update`; False when the database was out of reach."""
        update_id = raw.get("update_id")
        try:
            await self.backend.feed(raw)
        except Exception:
            log.exception("telegram: the library could not read update %s; dropped", update_id)
            return True
        if update_id in self._deferred:
            self._deferred.discard(update_id)
            return False
        return True

    async def _pause(self, attempt: int) -> None:
        """Back off before try `attempt` + 1 (1 s, 2 s, 4 s... up to 30 s); cut short by stop()."""
        first, most = self.retry_delays
        delay = min(first * 2 ** min(attempt - 1, 20), most)  # the exponent capped: outages may be long
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)

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
        deferred = False
        try:
            await self.process(tg.read_update(update))
        except Exception as exc:
            if is_database_outage(exc):
                deferred = True
                self._deferred.add(int(update.update_id))
                self.stats.deferred += 1
            else:
                log.exception("telegram update could not be processed")
        finally:
            self._active -= 1
            if not deferred:
                self.stats.processed += 1
            async with self._done:
                self._done.notify_all()

    async def process(self, ev: tg.TgEvent) -> None:
        inbound = tg.decide(ev)
        if inbound.chat_id is None:
            return
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
        if inbound.group and not await self._first_word_to_group(chat_id):
            return
        replies = await self.engine.handle(inbound.message, held=True)
        if replies:
            await self.deliver(chat_id, inbound.message.user_id, replies)

    async def _first_word_to_group(self, chat_id: int) -> bool:
        """A group is told once that the bot works in private chats, whichever process sees it."""
        try:
            async with self.db.session() as session:
                return await repo.first_time(session, GROUP_TOLD, str(chat_id))
        except Exception as exc:  # the database is away: silence beats telling a group twice
            log.warning("telegram: a group not told (%s)", type(exc).__name__)
            return False

    # -- sending ----------------------------------------------------------------------------

    async def send(self, user: str, replies: Sequence[Reply]) -> None:
        """Replies to a worker in a private chat (its chat id is the user id)."""
        await self.deliver(int(user), user, replies)

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
        try:
            async with self.db.session() as session:
                contact = await repo.get_contact(session, tg.CHANNEL, user_id)
                if contact is not None and contact.language:
                    lang = contact.language
        except Exception as exc:
            # The answer is already recorded: a label in the default language beats a lost answer.
            log.warning("telegram: worker's language not read (%s)", type(exc).__name__)
        return self.engine.services.renderer.label("share_phone", lang)

    async def _set_commands(self) -> None:
        for lang, code in (("id", None), ("en", "en")):
            commands = [(name, _description(self.engine, name, lang)) for name in tg.COMMANDS]
            try:
                await self.backend.set_commands(commands, code)
            except TelegramError as exc:
                log.warning("setMyCommands (%s) failed: %s", lang, exc)


def _description(engine: Engine, name: str, lang: str) -> str:
    return engine.services.renderer.label(f"command_{name}", lang)


def make_backend(settings: Settings) -> tg.TelegramBackend:
    token = settings.telegram_bot_token
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    _redact_token_in_logs(token)
    root = settings.telegram_api_base_url.rstrip("/")
    if settings.telegram_backend == "aiogram":
        from bot.channels.telegram.backend_aiogram import AiogramBackend

        return AiogramBackend(token, root, concurrency=settings.telegram_concurrency)
    from bot.channels.telegram.backend_ptb import PtbBackend

    return PtbBackend(token, root, concurrency=settings.telegram_concurrency)


def make_telegram_channel(
    deps: ChannelDeps, *, poll_timeout: float = 10.0, retry_delays: tuple[float, float] = RETRY_DELAYS
) -> TelegramChannel:
    settings = deps.settings
    url = webhook_url(settings)
    return TelegramChannel(
        deps,
        make_backend(settings),
        webhook_url=url,
        webhook_secret=webhook_secret(settings) if url else None,
        poll_timeout=poll_timeout,
        concurrency=settings.telegram_concurrency,
        retry_delays=retry_delays,
        serving_address=serving_address(settings, url) if url else None,
    )


def _redact_token_in_logs(token: str) -> None:
    for name in ("httpx", __name__):
        logger = logging.getLogger(name)
        if not any(isinstance(f, tg.RedactToken) and f.token == token for f in logger.filters):
            logger.addFilter(tg.RedactToken(token))
