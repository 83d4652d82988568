from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.channels.fake_telegram import FakeTelegram
from tests.channels.fake_telegram_process import FakeTelegramProcess

TOKEN = "123456:TEST-token"


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    fake = await FakeTelegram(TOKEN).start()
    yield fake
    await fake.stop()


def make_worker(db, fake, *, rate=None, settings=None, lean=True, **kw):  # type: ignore[no-untyped-def]
    """A worker with a Telegram lane on `fake`; `lean`: sends through BotApi, as `bpu-bot run` does."""
    from bot.channels.telegram.backend_aiogram import AiogramBackend
    from bot.channels.telegram.bulk import BotApi, TelegramSender
    from bot.delivery.settings import DeliverySettings
    from bot.delivery.worker import DeliveryWorker

    settings = settings or DeliverySettings(BROADCAST_HEADROOM=0.0, BPU_DELIVERY_RETRY_BASE=0.05)  # type: ignore[call-arg]
    sender = TelegramSender(AiogramBackend(TOKEN, fake.root), api=BotApi(fake.root, TOKEN) if lean else None)
    kw.setdefault("quiet", (0, 0))
    kw.setdefault("poll", 0.05)
    return DeliveryWorker(db, {"telegram": sender}, settings=settings, rates={"telegram": rate}, **kw)


class ThreadedFake:
    """The fake Bot API server on a loop of its own (another thread): its clock is not held up
    by the worker's event loop, so the send times it records are the ones a platform would see."""

    def __init__(self) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake: FakeTelegram = asyncio.run_coroutine_threadsafe(FakeTelegram(TOKEN).start(), self.loop).result(10)

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def threaded_tg():  # type: ignore[no-untyped-def]
    server = ThreadedFake()
    yield server.fake
    server.close()


@pytest.fixture
def process_tg():  # type: ignore[no-untyped-def]
    """The fake Bot API server in a child process: its arrival stamps are taken on an interpreter
    the worker's CPU does not hold (see tests/channels/fake_telegram_process.py)."""
    server = FakeTelegramProcess(TOKEN).start()
    try:
        yield server
    finally:
        server.close()
