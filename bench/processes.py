"""Updates per second with 1, 2 and 3 `bpu-bot run` processes on one PostgreSQL.

Each process is a real `bpu-bot run` in Telegram webhook mode (its own port, the same database);
this bench process plays the platform: the fake Bot API the processes answer through, and the
webhook posts, spread round-robin over the processes as a reverse proxy would. A round puts N
updates (N new users) on them at once; an update is done when its user gets the first reply.
The baseline is one process doing the same work: the ratio says what each added process buys
on this machine (the bench process itself takes CPU too: on 2 cores, a third process mostly
competes with the others).

    .venv/bin/python -m bench.processes --postgres postgresql://postgres@127.0.0.1:5432/test
        [--updates 300] [--rounds 3] [--max 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench._telegram_fake import update
from bench.telegram import _postgres_admin
from tests.channels.fake_telegram import FakeTelegram, Sent

BIN = Path(sys.executable).parent / "bpu-bot"
SECRET = "bench-webhook-secret"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"bpu-bot run exited with {proc.returncode}")
            try:
                if (await client.get(f"{base}/healthz")).status_code in (200, 503):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("bpu-bot run did not start")


async def _round(fake: FakeTelegram, hooks: list[str], first_user: int, n: int) -> tuple[float, list[float]]:
    sent_at: dict[int, float] = {}
    replied: dict[int, float] = {}
    done = asyncio.Event()

    def on_send(message: Sent) -> None:
        if message.chat_id in sent_at and message.chat_id not in replied:
            replied[message.chat_id] = time.perf_counter()
            if len(replied) == n:
                done.set()

    fake.on_send = on_send
    spread = itertools.cycle(hooks)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        start = time.perf_counter()

        async def post(user: int) -> None:
            sent_at[user] = time.perf_counter()
            response = await client.post(next(spread), json=update(fake, user, "halo"), headers=headers)
            response.raise_for_status()

        await asyncio.gather(*(post(u) for u in range(first_user, first_user + n)))
        await asyncio.wait_for(done.wait(), 180)
    elapsed = time.perf_counter() - start
    return n / elapsed, [replied[u] - sent_at[u] for u in sent_at]


async def _measure(processes: int, postgres: str, n: int, rounds: int, workdir: Path) -> dict[str, Any]:
    name = f"bpu_bench_processes_{processes}_{os.getpid()}"
    await _postgres_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
    fake = await FakeTelegram().start()
    procs: list[subprocess.Popen[bytes]] = []
    hooks: list[str] = []
    try:
        subprocess.run([str(BIN), "db", "upgrade"], env={**os.environ, "BPU_DATABASE_URL": url}, check=True,
                       capture_output=True)  # fmt: skip
        for i in range(processes):
            port = _port()
            hook = f"http://127.0.0.1:{port}/webhook/telegram"
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_", "BPU_"))}
            env.update(BPU_DATABASE_URL=url, BPU_HTTP_PORT=str(port), BPU_SECRET_KEY="bench-secret",
                       TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.root, TELEGRAM_WEBHOOK_URL=hook,
                       TELEGRAM_WEBHOOK_SECRET=SECRET)  # fmt: skip
            folder = workdir / f"p{processes}-{i}"
            folder.mkdir()
            procs.append(subprocess.Popen([str(BIN), "run"], cwd=folder, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))  # fmt: skip
            hooks.append(hook)
        for proc, hook in zip(procs, hooks, strict=True):
            await _healthy(hook.rsplit("/webhook", 1)[0], proc)
        await _round(fake, hooks, 10_000, 20)  # warm-up: the model loaded, connections opened
        rates: list[float] = []
        latencies: list[float] = []
        for r in range(rounds):
            rate, lat = await _round(fake, hooks, 100_000 * (r + 1), n)
            rates.append(rate)
            latencies += lat
        latencies.sort()
        return {
            "rate": statistics.median(rates),
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000,
        }
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await fake.stop()
        await _postgres_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main(postgres: str, n: int, rounds: int, most: int) -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for count in range(1, most + 1):
            results[count] = await _measure(count, postgres, n, rounds, Path(tmp))
    print(f"{n} updates at once (new users, each 'halo'), Telegram webhooks spread round-robin over the "
          f"processes, one PostgreSQL, median of {rounds} rounds; {os.cpu_count()} cores")  # fmt: skip
    base = results[1]["rate"]
    for count, r in results.items():
        print(f"  {count} process{'es' if count > 1 else '  '}  {r['rate']:6.0f} updates/s  ({r['rate'] / base:4.2f} x one)"
              f"   p50 {r['p50']:7.1f} ms   p99 {r['p99']:7.1f} ms")  # fmt: skip
    print(json.dumps({str(k): round(v["rate"], 1) for k, v in results.items()}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("BPU_TEST_POSTGRES_URL"),
        help="several processes need PostgreSQL (default: BPU_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max", type=int, default=3, help="measure 1..MAX processes")
    args = parser.parse_args()
    if not args.postgres:
        print("bench.processes: skipped, several processes share PostgreSQL: give --postgres URL")
        sys.exit(0)
    asyncio.run(main(args.postgres, args.updates, args.rounds, args.max))
