"""The contract's driver for Telegram: the Bot API's wire format, against our fake Bot API server,
through `bpu-bot run`'s own HTTP app, on each library backend and each mode (polling, webhook).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

from bot.channels.telegram.channel import TelegramChannel, make_telegram_channel
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from storage.crypto import FieldCipher
from storage.db import Database
from tests.channels.contract import Bubble, Env
from tests.channels.fake_telegram import FakeTelegram, Sent
from tests.conftest import TEST_SECRET, registry_engine
from tests.net import free_socket, serving
from tests.waiting import eventually

COMBOS = [("ptb", "polling"), ("ptb", "webhook"), ("aiogram", "polling"), ("aiogram", "webhook")]
IDS = [f"{b}-{m}" for b, m in COMBOS]
MEDIA: dict[str, dict[str, Any]] = {
    "sticker": {"sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512,
                            "height": 512, "is_animated": False, "is_video": False}},
    "photo": {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]},
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}},
    "video": {"video": {"file_id": "d1", "file_unique_id": "u4", "width": 9, "height": 9, "duration": 1}},
    "document": {"document": {"file_id": "f1", "file_unique_id": "u5", "file_name": "ktp.pdf"}},
    "location": {"location": {"latitude": -6.12, "longitude": 106.15}},
}  # fmt: skip


class TelegramDriver:
    """The contract's ChannelDriver, speaking the Bot API's wire format to the real adapter."""

    def __init__(self, fake: FakeTelegram, channel: TelegramChannel, runtime: Runtime, http_root: str) -> None:
        self.fake = fake
        self.channel = channel
        self.runtime = runtime
        self.http_root = http_root
        self.ids: dict[str, int] = {}
        self.shown: dict[str, list[Sent]] = {}
        self.last_update: dict[str, dict[str, Any]] = {}
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        # Webhook mode checks Telegram's secret token on every request; polling has none to forge.
        self.send_forged = self._send_forged if runtime.settings.telegram_webhook_url else None

    def uid(self, user: str) -> int:
        return self.ids.setdefault(user, 7_000_000 + len(self.ids))

    def _user(self, user: str, lang: str = "id") -> dict[str, Any]:
        return {"id": self.uid(user), "is_bot": False, "first_name": user.title(), "language_code": lang}

    def message(self, user: str, chat: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        uid = self.uid(user)
        return {
            "update_id": self.fake.next_update_id(),
            "message": {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": chat or {"id": uid, "type": "private", "first_name": user.title()},
                "from": self._user(user),
                **fields,
            },
        }

    async def deliver(self, user: str, update: dict[str, Any], *, forced: bool = False) -> list[Bubble]:
        chat = self.uid(user)
        mark = len(self.fake.sent)
        before = self.channel.stats.processed
        status = await self.fake.inject(update, forced=forced)
        assert status in (None, 200), status
        await self.channel.wait_processed(before + 1)
        self.last_update[user] = update
        assert not self.fake.bad_requests, [(c.method, c.params) for c in self.fake.bad_requests]
        assert self.channel.stats.send_failures == 0
        new = [m for m in self.fake.sent[mark:] if m.chat_id == chat]
        if new:
            self.shown[user] = new
        return [Bubble(m.text, _labels(m)) for m in new]

    # -- ChannelDriver ------------------------------------------------------------------------

    async def send_text(self, user: str, text: str) -> list[Bubble]:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return await self.deliver(user, self.message(user, **fields))

    async def press(self, user: str, label: str) -> list[Bubble]:
        for sent in self.shown.get(user, []):
            for kind, text, data in _buttons(sent.current if sent.current else sent.markup):
                if text == label or text.lower().startswith(label.lower()):
                    if kind == "contact":
                        raise AssertionError("use share_contact for the share-phone button")
                    if kind == "text":
                        return await self.send_text(user, text)
                    return await self._callback(user, sent, data)
        raise AssertionError(f"no button {label!r} in {[_labels(m) for m in self.shown.get(user, [])]}")

    async def press_stale(self, user: str, label: str) -> list[Bubble]:
        shown = {m.message_id for m in self.shown.get(user, [])}
        for sent in reversed(self.fake.messages_to(self.uid(user))):
            if sent.message_id in shown:
                continue
            for kind, text, data in _buttons(sent.markup):
                if kind == "callback" and (text == label or text.lower().startswith(label.lower())):
                    return await self._callback(user, sent, data)
        raise AssertionError(f"no older button {label!r}")

    async def _callback(self, user: str, sent: Sent, data: str) -> list[Bubble]:
        query_id = f"q{next(self._query_ids)}"
        message = self.fake._message_json(sent)
        update = {
            "update_id": self.fake.next_update_id(),
            "callback_query": {"id": query_id, "chat_instance": "ci-1", "from": self._user(user),
                               "data": data, "message": message},
        }  # fmt: skip
        bubbles = await self.deliver(user, update)
        answered = [c for c in self.fake.calls_of("answerCallbackQuery") if c.params["callback_query_id"] == query_id]
        assert len(answered) == 1, "every button press is answered"
        assert self.fake.message(sent.message_id).current is None, "the pressed keyboard is removed"
        return bubbles

    async def share_contact(self, user: str, phone: str, *, owner: str | None = None) -> list[Bubble]:
        contact = {"phone_number": phone, "first_name": user.title(), "user_id": self.uid(owner or user)}
        return await self.deliver(user, self.message(user, contact=contact))

    async def send_media(self, user: str, kind: str) -> list[Bubble]:
        return await self.deliver(user, self.message(user, **MEDIA[kind]))

    async def _send_forged(self, user: str, text: str) -> int:
        before = len(self.fake.sent)
        status = await self.fake.post_webhook(self.message(user, text=text), secret="wrong")
        assert len(self.fake.sent) == before
        return status

    async def replay_last(self, user: str) -> list[Bubble]:
        return await self.deliver(user, self.last_update[user], forced=True)


def _buttons(markup: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not markup:
        return []
    out = [("callback", b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row]
    for row in markup.get("keyboard", []):
        for button in row:
            text = button if isinstance(button, str) else button["text"]
            kind = "contact" if isinstance(button, dict) and button.get("request_contact") else "text"
            out.append((kind, text, ""))
    return out


def _labels(sent: Sent) -> list[str]:
    return [text for _, text, _ in _buttons(sent.current if sent.current else sent.markup)]


@contextlib.asynccontextmanager
async def running(backend: str, mode: str, db_url: str, matcher: Any, clock: Any,
                  secret: str | None = None) -> AsyncIterator[TelegramDriver]:  # fmt: skip
    """`bpu-bot run` in miniature: runtime, channel, HTTP app with its lifespan, fake Bot API."""
    fake = await FakeTelegram().start()
    sock = free_socket()
    port = sock.getsockname()[1]
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        BPU_DATABASE_URL=db_url,
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BACKEND=backend,
        TELEGRAM_API_BASE_URL=fake.root + "/",
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhook/telegram" if mode == "webhook" else None,
        TELEGRAM_WEBHOOK_SECRET=secret,
    )
    db = Database(db_url)
    cipher = FieldCipher(TEST_SECRET)
    engine = registry_engine(db, cipher, matcher, clock)
    runtime = Runtime(settings, db, cipher, engine)
    channel = make_telegram_channel(runtime.deps, poll_timeout=1.0)
    runtime.channels = [channel]
    try:
        async with serving(create_app(runtime), sock) as base:
            # setWebhook waits until the HTTP server listens
            await eventually(lambda: mode != "webhook" or fake.webhook_url, seconds=5.0, every=0.01)
            yield TelegramDriver(fake, channel, runtime, base)
    finally:
        await db.dispose()
        await fake.stop()


VARIANTS = IDS


@contextlib.asynccontextmanager
async def open_driver(env: Env, variant: str = "ptb-polling") -> AsyncIterator[TelegramDriver]:
    backend, mode = COMBOS[IDS.index(variant)]
    async with running(backend, mode, env.db_url, env.matcher, env.clock, secret="contract-secret") as driver:
        yield driver
