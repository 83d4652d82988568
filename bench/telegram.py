"""Telegram end to end: updates per second through each adapter, and a bare echo bot of the same library.

Each run puts N updates (N new users, one message each) on a loopback fake Bot API server
at once; an update counts as done when the server receives the bot's first reply to that
user. The adapters run the whole engine (intent classifier, SQLite database, message log);
the echo bots only answer with the text they got. Target: each adapter reaches at least
half of its library's echo bot.

    .venv/bin/python -m bench.telegram [--updates 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.channels.fake_telegram import FakeTelegram, Sent

Runner = Callable[[FakeTelegram], Awaitable[Callable[[], Awaitable[None]]]]


def _update(fake: FakeTelegram, user: int, text: str) -> dict[str, Any]:
    return {
        "update_id": fake.next_update_id(),
        "message": {
            "message_id": user, "date": int(time.time()), "text": text,
            "chat": {"id": user, "type": "private", "first_name": "W"},
            "from": {"id": user, "is_bot": False, "first_name": "W", "language_code": "id"},
        },
    }  # fmt: skip


async def _round(fake: FakeTelegram, first_user: int, n: int, text: str) -> tuple[float, list[float]]:
    sent_at: dict[int, float] = {}
    replied: dict[int, float] = {}
    done = asyncio.Event()

    def on_send(message: Sent) -> None:
        if message.chat_id in sent_at and message.chat_id not in replied:
            replied[message.chat_id] = time.perf_counter()
            if len(replied) == n:
                done.set()

    fake.on_send = on_send
    users = range(first_user, first_user + n)
    start = time.perf_counter()
    for user in users:
        sent_at[user] = time.perf_counter()
        await fake.inject(_update(fake, user, text))
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - start
    return n / elapsed, [replied[u] - sent_at[u] for u in users]


async def _measure(name: str, runner: Runner, n: int, rounds: int, text: str) -> dict[str, float]:
    fake = await FakeTelegram().start()
    stop = await runner(fake)
    try:
        await _round(fake, 10_000, 20, text)  # warm-up: connections, classifier, caches
        rates, latencies = [], []
        for r in range(rounds):
            rate, lat = await _round(fake, 100_000 * (r + 1), n, text)
            rates.append(rate)
            latencies += lat
    finally:
        await stop()
        await fake.stop()
    latencies.sort()
    return {
        "rate": statistics.median(rates),
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


async def ptb_echo(fake: FakeTelegram) -> Callable[[], Awaitable[None]]:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    app = ApplicationBuilder().token(fake.token).base_url(f"{fake.root}/bot").build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0)
    await app.start()

    async def stop() -> None:
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    return stop


async def aiogram_echo(fake: FakeTelegram) -> Callable[[], Awaitable[None]]:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.root)))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False))

    async def stop() -> None:
        await dp.stop_polling()
        await task

    return stop


async def _postgres_admin(url: str, *statements: str) -> str:
    """Run statements on the server of `url`; returns `url` (for the database named last)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password,
        database=parsed.database or "postgres",
    )  # fmt: skip
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()
    return url


def adapter(backend: str, workdir: Path, postgres: str | None = None) -> Runner:
    async def run(fake: FakeTelegram) -> Callable[[], Awaitable[None]]:
        from bot.channels.telegram import make_telegram_channel
        from bot.runtime import build
        from bot.settings import Settings

        name = f"bpu_bench_telegram_{backend}_{fake.next_update_id()}"
        if postgres:
            from sqlalchemy.engine import make_url

            await _postgres_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
            database_url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
        else:
            database_url = f"sqlite:///{workdir / f'bench-{backend}-{fake.next_update_id()}.db'}"
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            BPU_DATABASE_URL=database_url,
            BPU_SECRET_KEY="bench-secret-key",
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_BACKEND=backend,
            TELEGRAM_API_BASE_URL=fake.root,
        )
        runtime = await asyncio.to_thread(build, settings)
        channel = make_telegram_channel(runtime)
        runtime.channels = [channel]
        await channel.start()

        async def stop() -> None:
            await runtime.close()
            if postgres:
                await _postgres_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return stop

    return run


async def main(n: int, rounds: int, postgres: str | None, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "ptb adapter": await _measure("ptb adapter", adapter("ptb", Path(tmp), postgres), n, rounds, text),
            "ptb echo": await _measure("ptb echo", ptb_echo, n, rounds, text),
            "aiogram adapter": await _measure(
                "aiogram adapter", adapter("aiogram", Path(tmp), postgres), n, rounds, text
            ),
            "aiogram echo": await _measure("aiogram echo", aiogram_echo, n, rounds, text),
        }
    where = "PostgreSQL" if postgres else "SQLite"
    print(f"{n} updates at once (new users), {where}, median of {rounds} rounds; latency = update in -> first reply")
    for name, r in results.items():
        print(f"  {name:16} {r['rate']:8.0f} updates/s   p50 {r['p50']:7.1f} ms   p99 {r['p99']:7.1f} ms")
    for lib in ("ptb", "aiogram"):
        ratio = results[f"{lib} adapter"]["rate"] / results[f"{lib} echo"]["rate"]
        verdict = "ok" if ratio >= 0.5 else "BELOW TARGET"
        print(f"  {lib} adapter / echo: {ratio:.2f} (target >= 0.50: {verdict})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--text", default="halo", help="what every user sends (the greeting answers in 3 bubbles)")
    parser.add_argument("--postgres", metavar="URL", help="run the adapters on PostgreSQL (production) instead of SQLite")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.updates, args.rounds, args.postgres, args.text))
