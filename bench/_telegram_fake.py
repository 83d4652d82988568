"""The load side of bench/telegram.py: the fake Bot API server, update injection and timing.

`bench.telegram` starts this module as a child process (`python -m bench._telegram_fake`) so
that the fake server's CPU is not charged to the bot under test (the leading underscore keeps
it out of `make bench`, which runs every other module here). It speaks line-delimited
JSON: the first line it writes is `{"root": ..., "token": ...}`; then, for each command read
from stdin, one reply line on stdout:

    {"cmd": "round", "first_user": 100000, "texts": ["halo", ...]}   (user first_user + i sends texts[i])
      -> {"rate": updates/s, "latencies": [s, ...], "cpu": CPU seconds of this process in the round,
          "messages": [sendMessage calls each user got, ...],
          "replies": [[{"text", "parse_mode", "markup"} of each message user i got, as sent], ...]}
         or {"error": "..."}
    {"cmd": "steady", "first_user": 200000, "texts": [...], "rate": 50}
      (user first_user + i sends texts[i] at i / rate seconds: a steady load, not a burst)
      -> {"latencies": [s, ...] (update in -> last message of its answer), "cpu": ...,
          "messages": [...], "offered": updates/s injected}
    {"cmd": "stop"}  -> {"stopped": true}, then exit (also in the middle of a round)

It exits as well when stdin reaches EOF (the parent died or closed the pipe); it ignores
SIGINT, so that Ctrl-C lets the parent stop its bot before the fake goes. Both stamps of
a latency (update injected, first sendMessage to that user received) are taken here, on this
process's clock. `bench.telegram --same-process` calls `run_round` directly instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Coroutine, Sequence
from typing import Any, TextIO

from tests.channels.fake_telegram import FakeTelegram, Sent

ROUND_TIMEOUT = 120.0  # seconds for every user of a round to get a first reply


def update(fake: FakeTelegram, user: int, text: str) -> dict[str, Any]:
    """A private text message from a new user, with the fake's next (increasing) update id."""
    return {
        "update_id": fake.next_update_id(),
        "message": {
            "message_id": user, "date": int(time.time()), "text": text,
            "chat": {"id": user, "type": "private", "first_name": "W"},
            "from": {"id": user, "is_bot": False, "first_name": "W", "language_code": "id"},
        },
    }  # fmt: skip


SETTLE = 0.5  # seconds without a sendMessage that end a round's trailing bubbles


Reply = dict[str, Any]  # one sendMessage as the bot sent it: text, parse_mode, markup


async def run_round(
    fake: FakeTelegram, first_user: int, texts: Sequence[str]
) -> tuple[float, list[float], list[list[Reply]]]:
    """Inject one update per text at once (user first_user + i sends texts[i]); wait until each
    user has a first reply. Returns updates/s, the latencies (injection -> first reply) in s,
    and the messages each user got once the bot fell quiet (its bubbles per update, as sent:
    what an echo bot sends to do the same library work)."""
    n = len(texts)
    sent_at: dict[int, float] = {}
    replied: dict[int, float] = {}
    messages: dict[int, list[Reply]] = {}
    last_send = [time.perf_counter()]
    done = asyncio.Event()

    def on_send(message: Sent) -> None:
        last_send[0] = time.perf_counter()
        if message.chat_id in sent_at:
            sent = {"text": message.text, "parse_mode": message.parse_mode, "markup": message.markup}
            messages.setdefault(message.chat_id, []).append(sent)
        if message.chat_id in sent_at and message.chat_id not in replied:
            replied[message.chat_id] = time.perf_counter()
            if len(replied) == n:
                done.set()

    fake.on_send = on_send
    users = range(first_user, first_user + n)
    start = time.perf_counter()
    for user, text in zip(users, texts, strict=True):
        sent_at[user] = time.perf_counter()
        await fake.inject(update(fake, user, text))
    await asyncio.wait_for(done.wait(), ROUND_TIMEOUT)
    elapsed = time.perf_counter() - start
    while time.perf_counter() - last_send[0] < SETTLE:  # the last bubbles, outside the timing
        await asyncio.sleep(SETTLE / 5)
    return n / elapsed, [replied[u] - sent_at[u] for u in users], [messages[u] for u in users]


async def run_steady(
    fake: FakeTelegram, first_user: int, texts: Sequence[str], rate: float
) -> tuple[list[float], list[int], float]:
    """Inject update i at i / rate seconds (late ones go at once, never in a burst to catch up
    silently: the offered rate is returned); wait until every user has an answer and the bot
    is quiet. Latency: injection -> the last message of that user's answer."""
    n = len(texts)
    sent_at: dict[int, float] = {}
    last: dict[int, float] = {}
    messages: dict[int, int] = {}
    last_send = [time.perf_counter()]
    done = asyncio.Event()

    def on_send(message: Sent) -> None:
        now = time.perf_counter()
        last_send[0] = now
        if message.chat_id in sent_at:
            messages[message.chat_id] = messages.get(message.chat_id, 0) + 1
            last[message.chat_id] = now
            if len(last) == n:
                done.set()

    fake.on_send = on_send
    users = range(first_user, first_user + n)
    start = time.perf_counter()
    for i, (user, text) in enumerate(zip(users, texts, strict=True)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at[user] = time.perf_counter()
        await fake.inject(update(fake, user, text))
    offered = n / (time.perf_counter() - start)
    await asyncio.wait_for(done.wait(), ROUND_TIMEOUT)
    while time.perf_counter() - last_send[0] < SETTLE:  # the last messages of the last answers
        await asyncio.sleep(SETTLE / 5)
    return [last[u] - sent_at[u] for u in users], [messages[u] for u in users], offered


async def _serve(out: TextIO) -> None:
    def reply(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=64 * 1024 * 1024)  # a round's texts come in one line
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    fake = await FakeTelegram().start()
    try:
        reply({"root": fake.root, "token": fake.token})
        # While a round runs stdin is still watched: EOF (the parent is gone) or any command
        # (the parent's stop) abandons the round and ends this process.
        while line := await stdin.readline():
            command = json.loads(line)
            if command["cmd"] == "stop":
                reply({"stopped": True})
                return
            if command["cmd"] not in ("round", "steady"):
                reply({"error": f"unknown command {command['cmd']!r}"})
                continue
            cpu = time.process_time()
            job: Coroutine[Any, Any, Any]
            if command["cmd"] == "steady":
                job = run_steady(fake, command["first_user"], command["texts"], float(command["rate"]))
            else:
                job = run_round(fake, command["first_user"], command["texts"])
            work: asyncio.Task[Any] = asyncio.create_task(job)
            interrupt = asyncio.create_task(stdin.readline())
            await asyncio.wait({work, interrupt}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():  # EOF (the parent is gone) or a stop: the round is abandoned
                work.cancel()
                await asyncio.wait({work})
                if interrupt.result():
                    reply({"stopped": True})
                return
            cpu = time.process_time() - cpu
            try:
                result = work.result()
            except TimeoutError:
                reply({"error": f"not every user got a reply within {ROUND_TIMEOUT:.0f} s"})
            else:
                if command["cmd"] == "steady":
                    latencies, counts, offered = result
                    reply({"latencies": latencies, "cpu": cpu, "messages": counts, "offered": offered})
                else:
                    rate, latencies, replies = result
                    counts = [len(sent) for sent in replies]
                    reply({"rate": rate, "latencies": latencies, "cpu": cpu, "messages": counts, "replies": replies})
            if interrupt.done():  # EOF or a stop came in with the round's end
                if interrupt.result():
                    reply({"stopped": True})
                return
            interrupt.cancel()
            await asyncio.wait({interrupt})  # let it leave stdin before the next readline()
    finally:
        await fake.stop()


def main() -> None:
    # The protocol gets its own copy of stdout; anything printed by mistake goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    # Ctrl-C in a terminal reaches the whole process group: leave it to the parent, which
    # stops its bot first and then this process (by "stop", or EOF if it dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(out))


if __name__ == "__main__":
    main()
