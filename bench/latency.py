"""Telegram under a steady load, which is what a branch sees after a broadcast: the time from an
update in to the last message of its answer, p50 and p99, at a fixed rate for a fixed time.

Each backend runs the whole bot (engine, classifier, database, message log) on its own, with the
fake Bot API server and the injection in a child process (bench/_telegram_fake.py), as
bench/telegram.py does. Like for like, the same library's bare echo bot is run at the same rate
and answers each update with as many messages as our bot sent: its latency is the floor the
library and the fake set on this machine. Goal (issue 17): p99 < 300 ms at 50 updates/s for
60 s on PostgreSQL. CPU per update is given for the bot and for the fake.

    .venv/bin/python -m bench.latency [--rate 50] [--seconds 60] [--postgres URL] [--mix ../shared/nlu/dev.csv]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.telegram import _ChildProcess, _mix, _texts, adapter, aiogram_echo, ptb_echo

WARM_UP = 20  # updates answered before the clock starts: imports, first connections, the model
GOAL_P99_MS = 300.0


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _steady(runner: Any, texts: Sequence[str], rate: float, first_user: int) -> dict[str, Any]:
    load = await _ChildProcess.start()
    try:
        stop = await runner(load.server)
        try:
            await load.round(first_user - 10_000, _texts(list(texts), WARM_UP))
            cpu = time.process_time()
            await load._send({"cmd": "steady", "first_user": first_user, "texts": list(texts), "rate": rate})
            result = await asyncio.wait_for(load._read(), len(texts) / rate + 180)
            bot_cpu = time.process_time() - cpu
        finally:
            await stop()
    finally:
        await load.close()
    n = len(texts)
    latencies = [s * 1000 for s in result["latencies"]]
    return {
        "p50": statistics.median(latencies),
        "p99": _quantile(latencies, 0.99),
        "max": max(latencies),
        "offered": result["offered"],
        "messages": result["messages"],
        "bot_cpu": bot_cpu / n * 1000,
        "fake_cpu": result["cpu"] / n * 1000,
    }


async def main(rate: float, seconds: float, postgres: str | None, messages: Sequence[str], what: str) -> None:
    n = int(rate * seconds)
    texts = _texts(list(messages), n)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (lib, echo) in enumerate((("ptb", ptb_echo), ("aiogram", aiogram_echo))):
            ours = results[f"{lib} adapter"] = await _steady(
                adapter(lib, Path(tmp), postgres), texts, rate, 300_000 * (i + 1)
            )
            same = [f"{count}|{text}" for count, text in zip(ours["messages"], texts, strict=True)]
            results[f"{lib} echo, same"] = await _steady(echo, same, rate, 300_000 * (i + 1) + 100_000)
    where = "PostgreSQL" if postgres else "SQLite"
    print(f"{rate:.0f} updates/s for {seconds:.0f} s ({n} updates, new users, {what}), {where}, "
          "fake Bot API in its own process; latency = update in -> last message of its answer")  # fmt: skip
    for name, r in results.items():
        sent = sum(r["messages"]) / len(r["messages"])
        verdict = "" if "echo" in name else ("  ok" if r["p99"] < GOAL_P99_MS else "  ABOVE GOAL")
        print(f"  {name:17} offered {r['offered']:5.1f}/s   p50 {r['p50']:6.1f} ms   p99 {r['p99']:6.1f} ms"
              f"   max {r['max']:6.1f} ms   {sent:4.2f} messages/update   CPU bot {r['bot_cpu']:5.2f} ms/update,"
              f" fake {r['fake_cpu']:5.2f} ms/update{verdict}")  # fmt: skip
    print(f"  goal: p99 < {GOAL_P99_MS:.0f} ms for the adapters; 'echo, same' = the library's own floor")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="updates per second, sustained")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--postgres", metavar="URL", help="the bot on PostgreSQL (production) instead of SQLite")
    parser.add_argument("--mix", metavar="PATH", type=Path, help="the `text` column of a CSV, in order, cycling")
    parser.add_argument("--text", default="halo")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.mix:
        chosen = _mix(args.mix)
        label = f"messages of {args.mix.name} in order"
    else:
        chosen = [args.text]
        label = f"each {args.text!r}"
    asyncio.run(main(args.rate, args.seconds, args.postgres, chosen, label))
