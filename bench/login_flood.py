"""Login flood benchmark: does the bot keep answering while 60 people log in at once?

argon2 costs ~0.1-0.2 s of CPU a hash on purpose. On the event loop, 60 simultaneous logins
held chat replies, webhooks and delivery for up to 9.5 s (issue 14.4); on bot.offload's
bounded pool the loop keeps answering. A real `bpu-bot run` (SQLite in a temporary
directory, argon2 at its production cost) is asked chat messages through the web simulator's
API at a steady pace, first alone (baseline), then while 60 clients log in to the dashboard
over and over; the chat latencies (p50, p99, max) of both phases are printed.

    .venv/bin/python bench/login_flood.py [--logins 60] [--seconds 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "bpu-bot"
NAME = "Bench Admin"
PASSWORD = "bench-password-123"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CHAT_EVERY = 0.05  # seconds between chat messages: 20 a second, a busy branch after a campaign
MESSAGES = ("halo", "berapa iuran minimal?", "apa itu jkk", "cara daftar", "kantor terdekat")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _chat(base: str, seconds: float, tag: str) -> list[float]:
    """Chat messages at a steady pace for `seconds`, each from a rotating worker; their latencies."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one(i: int) -> None:
            started = time.perf_counter()
            try:
                r = await client.post(
                    "/simulator/api/message", json={"user": f"{tag}-{i % 40}", "text": MESSAGES[i % len(MESSAGES)]}
                )
                r.raise_for_status()
            except httpx.HTTPError as exc:
                print(f"chat message {tag}-{i} failed: {type(exc).__name__} {exc}")
            # A failed message counts with the time the worker waited for nothing.
            latencies.append(time.perf_counter() - started)

        tasks = []
        deadline = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < deadline:
            tasks.append(asyncio.create_task(one(i)))
            i += 1
            await asyncio.sleep(CHAT_EVERY)
        await asyncio.gather(*tasks)
    return latencies


async def _logins(base: str, clients: int, seconds: float) -> tuple[int, dict[int | str, int]]:
    """`clients` browsers logging in (right password, so every one costs a hash) for `seconds`."""
    done = 0
    refused: dict[int | str, int] = {}
    deadline = time.perf_counter() + seconds

    async def browser(n: int) -> None:
        nonlocal done
        # Each browser from an address of its own (uvicorn believes X-Forwarded-For from
        # 127.0.0.1, as from a reverse proxy on the host): 60 logins from one address are an
        # attack, and the throttle would spare the loop by refusing them unhashed.
        headers = {"X-Forwarded-For": f"10.1.{n // 250}.{n % 250 + 1}"}
        async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as client:
            while time.perf_counter() < deadline:
                client.cookies.clear()
                try:
                    token = CSRF.search((await client.get("/login")).text).group(1)  # type: ignore[union-attr]
                    r = await client.post(
                        "/login", data={"csrf": token, "name": NAME, "password": PASSWORD, "next": "/"}
                    )
                except httpx.HTTPError as exc:
                    refused[type(exc).__name__] = refused.get(type(exc).__name__, 0) + 1
                    continue
                if r.status_code == 303:
                    done += 1
                else:
                    refused[r.status_code] = refused.get(r.status_code, 0) + 1

    await asyncio.gather(*(browser(n) for n in range(clients)))
    return done, refused


def _flood(base: str, clients: int, seconds: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    # A process of its own: 60 HTTP clients on the measuring process's loop would delay the
    # chat messages it times, and the figure would be the benchmark's, not the bot's.
    results.put(asyncio.run(_logins(base, clients, seconds)))


def _report(label: str, latencies: list[float]) -> str:
    return (
        f"{label:<26} n={len(latencies):4d}  p50={statistics.median(latencies) * 1000:7.1f} ms  "
        f"p99={_pct(latencies, 0.99) * 1000:7.1f} ms  max={max(latencies) * 1000:7.1f} ms"
    )


async def run(logins: int, seconds: float, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="bpu-login-flood-") as tmp:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
        env.update(
            BPU_HTTP_PORT=str(port),
            BPU_SECRET_KEY="bench-login-flood-secret",
            BPU_DATABASE_URL=database_url or f"sqlite:///{Path(tmp) / 'bench.db'}",
        )
        subprocess.run(
            [str(BIN), "staff", "add", "--name", NAME, "--role", "admin", "--password"],
            input=PASSWORD + "\n",
            text=True,
            env=env,
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        with open(Path(tmp) / "run.log", "w") as log:
            proc = subprocess.Popen([str(BIN), "run"], env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(300):
                    try:
                        if (await client.get(f"{base}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            await _chat(base, 2.0, "warm")  # model, templates and connections loaded
            baseline = await _chat(base, seconds, "base")
            results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
            flood = multiprocessing.Process(target=_flood, args=(base, logins, seconds + 2.0, results))
            flood.start()
            await asyncio.sleep(1.5)  # let the flood build up
            loaded = await _chat(base, seconds, "flood")
            done, refused = await asyncio.to_thread(results.get, timeout=300)
            flood.join()
            if refused:
                print(f"logins that failed: {refused}")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
            lines = (Path(tmp) / "run.log").read_text().splitlines()
            # With PYTHONASYNCIODEBUG=1 asyncio names each callback that held the loop > 100 ms.
            slow = [line for line in lines if "Executing" in line and " took " in line]
            if slow:
                print(f"{len(slow)} callbacks held the bot's loop > 100 ms, e.g.:", *slow[:5], sep="\n  ")
            errors = [line for line in lines if "Error" in line]
            if errors:
                print(f"the bot logged {len(errors)} error lines, the last: {errors[-1][:300]}")
    print(
        f"bpu-bot run, {'PostgreSQL' if database_url else 'SQLite'}, chat every {CHAT_EVERY * 1000:.0f} ms, "
        f"{seconds:.0f} s a phase, {os.cpu_count()} cores"
    )
    print(_report("chat, no logins", baseline))
    print(_report(f"chat, {logins} logins at once", loaded))
    print(f"logins completed during the flood: {done} ({done / (seconds + 2):.1f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logins", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--database-url", help="a PostgreSQL database to use (default: SQLite in a temporary directory)"
    )
    args = parser.parse_args()
    asyncio.run(run(args.logins, args.seconds, args.database_url))


if __name__ == "__main__":
    main()
