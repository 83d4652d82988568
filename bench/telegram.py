"""Telegram end to end: updates per second through each adapter, and a bare echo bot of the same library.

Each run puts N updates (N new users, one message each) on a loopback fake Bot API server
at once; an update counts as done when the server receives the bot's first reply to that
user. The adapters run the whole engine (intent classifier, database, message log); the echo
bots only answer. Target: each adapter reaches at least half of its library's echo bot doing the
same library work (below: "echo, replay").

The bot answers each message in one message now (the text and its buttons together), an echo
bot in one; every message is a sendMessage call through the library. Each library's echo bot runs
three times: as the target first defined it ("echo": the text it got, one message per update);
as "echo, same", answering each update with as many messages as the adapter sent to that user;
and as "echo, replay", answering user i with the very messages the adapter sent user i (text,
HTML parse mode, keyboard, built once as the adapter caches its own). Only the last does the
same library work as the adapter: a greeting of some hundred words with its menu buttons costs the library
more to encode, send and read back than "halo" (about 0.7 ms more per update with
python-telegram-bot, measured here), so "adapter / echo, replay" is what our engine and adapter
add (the database turn, the inbox, the classifier, the log) and nothing else.

    .venv/bin/python -m bench.telegram [--updates 300] [--rounds 3]
        [--text halo | --mix ../shared/nlu/dev.csv] [--postgres postgresql://user@host/db] [--same-process]

Modes:
  default         the fake Bot API server, the update injection and the timing run in a child
                  process (`python -m bench._telegram_fake`, see there); the bot under test runs
                  alone in this process. This is the default because in production the Bot API
                  is not in our process: sharing one event loop and one core (the GIL) with the
                  fake charges the fake's CPU, and its scheduling, to the bot under test, and not
                  by the same share for every bot (an adapter makes several API calls per update,
                  an echo bot one), which distorts the comparison. This machine has 2 cores: one
                  for the bot, one for the fake.
  --same-process  the old way: the fake in the bench's own event loop, next to the bot.

Each result line also gives CPU time per update during the measured rounds (warm-up excluded),
from time.process_time() in each process: the bot's process and the fake's. With
--same-process both are one process, shown as one figure. Work the bot still does after the
last first reply of a round (further bubbles, message log) is waited for (until the bot
is quiet for half a second) and counted in that round's CPU, not in its rate.

--mix PATH: user i of a round sends row i (cycling) of the `text` column of the CSV file
instead of --text, in file order, so every round (and every bot) gets the same messages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import functools
import itertools
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench._telegram_fake import ROUND_TIMEOUT, Reply, run_round
from tests.channels.fake_telegram import FakeTelegram

_ROOT = Path(__file__).resolve().parent.parent


class FakeServer(Protocol):
    """What a bot runner needs of the fake: a FakeTelegram, or a FakeRef to one in the child."""

    token: str

    @property
    def root(self) -> str: ...

    def next_update_id(self) -> int: ...


@dataclass
class FakeRef:
    """The fake Bot API server of the child process, as the bot runners see it. Its counter
    only makes names unique here (databases); the update ids the bot gets come from the child."""

    token: str
    root: str
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def next_update_id(self) -> int:
        return next(self._ids)


Runner = Callable[[FakeServer], Awaitable[Callable[[], Awaitable[None]]]]


class _Load(Protocol):
    server: FakeServer

    async def round(
        self, first_user: int, texts: Sequence[str]
    ) -> tuple[float, list[float], float | None, list[list[Reply]]]:
        """updates/s, latencies (s), the fake process's CPU seconds (None: it is this process),
        and the messages each user got, as sent."""
        ...

    async def close(self) -> None: ...


class _SameProcess:
    """The fake in this process and event loop (--same-process)."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.server: FakeServer = fake

    @classmethod
    async def start(cls) -> _SameProcess:
        return cls(await FakeTelegram().start())

    async def round(
        self, first_user: int, texts: Sequence[str]
    ) -> tuple[float, list[float], float | None, list[list[Reply]]]:
        rate, latencies, replies = await run_round(self.fake, first_user, texts)
        return rate, latencies, None, replies

    async def close(self) -> None:
        await self.fake.stop()


class _ChildProcess:
    """The fake, the injection and the timing in a child process, driven by JSON lines.

    A plain subprocess running `python -m bench._telegram_fake` rather than multiprocessing
    with "spawn": the pipes are asyncio streams here, so waiting for the child costs this event
    loop (the bot's) nothing (a multiprocessing Connection blocks, and would need a thread in
    the process we measure); nothing is pickled and this module is not re-imported as
    __mp_main__; and the child ends by itself at EOF on its stdin when this process dies,
    however it dies.
    """

    def __init__(self, process: asyncio.subprocess.Process, server: FakeRef) -> None:
        self.process = process
        self.server: FakeServer = server

    @classmethod
    async def start(cls) -> _ChildProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench._telegram_fake",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=_ROOT,
            limit=64 * 1024 * 1024,  # a round's latencies come back in one line
        )  # fmt: skip
        child = cls(process, FakeRef("", ""))
        try:
            hello = await asyncio.wait_for(child._read(), 60)
        except BaseException:
            await child.close()
            raise
        child.server = FakeRef(hello["token"], hello["root"])
        return child

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"bench._telegram_fake exited (status {await self.process.wait()})")
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            raise RuntimeError(f"bench._telegram_fake: {message['error']}")
        return message

    async def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        await self.process.stdin.drain()

    async def round(
        self, first_user: int, texts: Sequence[str]
    ) -> tuple[float, list[float], float | None, list[list[Reply]]]:
        await self._send({"cmd": "round", "first_user": first_user, "texts": list(texts)})
        result = await asyncio.wait_for(self._read(), ROUND_TIMEOUT + 30)
        return result["rate"], result["latencies"], result["cpu"], result["replies"]

    async def close(self) -> None:
        """Stop the child: politely, then by EOF on its stdin, and kill it if it is still there."""
        process = self.process
        assert process.stdin is not None
        try:
            if process.returncode is None:
                with contextlib.suppress(OSError, TimeoutError):  # OSError: the pipe is broken
                    await self._send({"cmd": "stop"})
                    await asyncio.wait_for(process.wait(), 10)
            if process.returncode is None:
                process.stdin.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), 5)
        finally:
            process.stdin.close()
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()


def _texts(messages: Sequence[str], n: int) -> list[str]:
    """What users 0..n-1 of a round send: the messages in order, cycling."""
    return [messages[i % len(messages)] for i in range(n)]


async def _measure(runner: Runner, n: int, rounds: int, messages: Sequence[str], separate: bool) -> dict[str, Any]:
    load: _Load = await (_ChildProcess.start() if separate else _SameProcess.start())
    try:
        stop = await runner(load.server)
        try:
            await load.round(10_000, _texts(messages, 20))  # warm-up: connections, classifier, caches
            rates, latencies = [], []
            bot_cpu, fake_cpu = 0.0, 0.0
            replies: list[list[Reply]] = []
            for r in range(rounds):
                cpu = time.process_time()
                rate, lat, fake, replies = await load.round(100_000 * (r + 1), _texts(messages, n))
                bot_cpu += time.process_time() - cpu
                fake_cpu += fake or 0.0
                rates.append(rate)
                latencies += lat
        finally:
            await stop()
    finally:
        await load.close()
    latencies.sort()
    return {
        "rate": statistics.median(rates),
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "bot_cpu": bot_cpu / (n * rounds) * 1000,  # ms per update
        "fake_cpu": fake_cpu / (n * rounds) * 1000 if separate else None,
        "messages": [len(sent) for sent in replies],  # how many messages each user of the last round got
        "replies": replies,  # and what they were, as sent
    }


def _copies(text: str) -> tuple[int, str]:
    """ "3|halo" -> (3, "halo"): how many messages the echo answers with (the like-for-like run)."""
    count, bar, rest = text.partition("|")
    return (int(count), rest) if bar and count.isdigit() else (1, text)


def _echo_texts(script: Sequence[Sequence[Reply]]) -> list[str]:
    """What user i sends to an echo bot replaying `script`: "#i", its answer script[i]."""
    return [f"#{i}" for i in range(len(script))]


def _replayed(text: str, script: Sequence[Sequence[Any]] | None) -> Sequence[Any] | None:
    """The messages an echo bot replaying `script` answers `text` ("#i") with; None: not replaying."""
    if script is None or not text.startswith("#"):
        return None
    return script[int(text[1:])]


async def ptb_echo(fake: FakeServer, script: Sequence[Sequence[Reply]] | None = None) -> Callable[[], Awaitable[None]]:
    """python-telegram-bot's echo bot; with `script`, user i's "#i" is answered with the messages
    the adapter sent user i (text, parse mode, keyboard): the library's cost of the same replies."""
    from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    def markup(data: dict[str, Any] | None) -> Any:
        if data is None:
            return None
        kind = InlineKeyboardMarkup if "inline_keyboard" in data else ReplyKeyboardMarkup
        return ReplyKeyboardRemove() if "remove_keyboard" in data else kind.de_json(data, None)

    # Keyboards built once, as the adapter caches its own (bot/channels/telegram/backend_ptb.py).
    prepared = [[(r["text"], r["parse_mode"], markup(r["markup"])) for r in sent] for sent in script or ()]

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        text = update.effective_message.text or ""
        replay = _replayed(text, prepared if script is not None else None)
        if replay is not None:
            for body, parse_mode, keyboard in replay:
                await update.effective_message.reply_text(body, parse_mode=parse_mode, reply_markup=keyboard)
            return
        count, text = _copies(text)
        for _i in range(count):
            await update.effective_message.reply_text(text)

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


async def aiogram_echo(
    fake: FakeServer, script: Sequence[Sequence[Reply]] | None = None
) -> Callable[[], Awaitable[None]]:
    """aiogram's echo bot; `script` as for `ptb_echo`."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove

    def markup(data: dict[str, Any] | None) -> Any:
        if data is None:
            return None
        kind = InlineKeyboardMarkup if "inline_keyboard" in data else ReplyKeyboardMarkup
        return (ReplyKeyboardRemove if "remove_keyboard" in data else kind).model_validate(data)

    prepared = [[(r["text"], r["parse_mode"], markup(r["markup"])) for r in sent] for sent in script or ()]
    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.root)))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        text = message.text or ""
        replay = _replayed(text, prepared if script is not None else None)
        if replay is not None:
            for body, parse_mode, keyboard in replay:
                await message.answer(body, parse_mode=parse_mode, reply_markup=keyboard)
            return
        count, text = _copies(text)
        for _i in range(count):
            await message.answer(text)

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
    async def run(fake: FakeServer) -> Callable[[], Awaitable[None]]:
        from bot.channels.telegram.channel import make_telegram_channel
        from bot.runtime import build
        from bot.settings import Settings

        name = f"bpu_bench_telegram_{backend}_{fake.next_update_id()}"
        if postgres:
            from sqlalchemy.engine import make_url

            await _postgres_admin(
                postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
            )
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
        channel = make_telegram_channel(runtime.deps)
        runtime.channels = [channel]
        await channel.start()

        async def stop() -> None:
            await runtime.close()
            if postgres:
                await _postgres_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return stop

    return run


def _mix(path: Path) -> list[str]:
    """The non-empty values of the `text` column, in file order."""
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        if "text" not in (reader.fieldnames or []):
            raise SystemExit(f"{path}: no 'text' column (columns: {reader.fieldnames})")
        messages = [row["text"].strip() for row in reader if (row["text"] or "").strip()]
    if not messages:
        raise SystemExit(f"{path}: no messages in the 'text' column")
    return messages


async def main(n: int, rounds: int, postgres: str | None, messages: Sequence[str], what: str, separate: bool) -> None:
    results: dict[str, dict[str, Any]] = {}
    echoes = {"ptb": ptb_echo, "aiogram": aiogram_echo}
    with tempfile.TemporaryDirectory() as tmp:
        for lib, echo in echoes.items():
            results[f"{lib} adapter"] = ours = await _measure(adapter(lib, Path(tmp), postgres), n, rounds, messages,
                                                              separate)  # fmt: skip
            results[f"{lib} echo"] = await _measure(echo, n, rounds, messages, separate)
            # The same library answering each message with as many messages as the adapter did.
            same = [f"{count}|{text}" for count, text in zip(ours["messages"], _texts(messages, n), strict=True)]
            results[f"{lib} echo, same"] = await _measure(echo, n, rounds, same, separate)
            # ... and with the very messages the adapter sent (text, HTML, keyboard): the library's
            # cost of our replies is then on both sides, and the ratio is what our engine adds.
            replay = functools.partial(echo, script=ours["replies"])
            results[f"{lib} echo, replay"] = await _measure(replay, n, rounds, _echo_texts(ours["replies"]), separate)
    where = "PostgreSQL" if postgres else "SQLite"
    mode = "fake Bot API in its own process" if separate else "fake Bot API in the bench process"
    print(f"{n} updates at once (new users, {what}), {where}, {mode}, median of {rounds} rounds; "
          "latency = update in -> first reply")  # fmt: skip
    for name, r in results.items():
        if r["fake_cpu"] is None:
            cpu = f"CPU bot+fake {r['bot_cpu']:5.2f} ms/update (one process)"
        else:
            cpu = f"CPU bot {r['bot_cpu']:5.2f} ms/update, fake {r['fake_cpu']:5.2f} ms/update"
        latency = f"p50 {r['p50']:7.1f} ms   p99 {r['p99']:7.1f} ms"
        sent = sum(r["messages"]) / len(r["messages"])
        print(f"  {name:20} {r['rate']:7.0f} updates/s   {latency}   {sent:4.2f} messages/update   {cpu}")
    print("  'echo, same': the echo bot answering each update with as many messages as the adapter did;")
    print("  'echo, replay': with the same messages (text, HTML, keyboard) the adapter sent that user")
    for lib in echoes:
        rate = results[f"{lib} adapter"]["rate"]
        ratio = rate / results[f"{lib} echo"]["rate"]
        same = rate / results[f"{lib} echo, same"]["rate"]
        replayed = rate / results[f"{lib} echo, replay"]["rate"]
        verdict = "ok" if replayed >= 0.5 else "BELOW TARGET"  # like for like: the same replies sent
        print(f"  {lib} adapter / echo, replay: {replayed:.2f} (target >= 0.50: {verdict});"
              f"  / echo, same: {same:.2f};  / echo: {ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--text", default="halo", help="what every user sends (the greeting answers in 3 bubbles)")
    parser.add_argument(
        "--mix", metavar="PATH", type=Path, help="user i sends row i (cycling) of the CSV's `text` column, not --text"
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="run the adapters on PostgreSQL (production) instead of SQLite"
    )
    parser.add_argument(
        "--same-process", action="store_true", help="the fake Bot API in the bench's event loop (the old way)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.mix:
        messages = _mix(args.mix)
        what = f"messages of {args.mix.name} in order ({len(messages)}, cycling)"
    else:
        messages = [args.text]
        what = f"each {args.text!r}"
    asyncio.run(main(args.updates, args.rounds, args.postgres, messages, what, not args.same_process))
