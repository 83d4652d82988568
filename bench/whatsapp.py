"""Benchmark: signed WhatsApp webhook POSTs per second end to end, and the same through Telegram.

    python bench/whatsapp.py [--users 200] [--concurrency 32] [--telegram/--no-telegram]

`bpu-bot run` is started in a subprocess (SQLite in a temporary directory) with WhatsApp pointed
at our fake Graph server and, when the Telegram channel is usable, Telegram in webhook mode
pointed at the fake Bot API server; both fakes run in this process. Every user holds the same
short conversation; a message counts as answered when its last reply bubble reached the fake
server (bubbles per step are learned from one warm-up user), so the latency is "POST in ->
reply received". Prints messages/s, p50 and p99 for each channel, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.channels.fake_graph import FakeGraph, Sent  # noqa: E402

CONVERSATION = ("halo", "berapa iuran minimal?", "jht itu apa?", "makasih ya")
APP_SECRET = "bench-app-secret"
PHONE_ID = "106540352242922"
TG_TOKEN = "123456:BENCH-token"
TG_SECRET = "bench-webhook-secret"


class Waiter:
    """Counts bubbles per recipient and wakes whoever waits for the n-th."""

    def __init__(self) -> None:
        self.counts: dict[Any, int] = defaultdict(int)
        self.waiting: dict[Any, tuple[int, asyncio.Future[float]]] = {}

    def arrived(self, key: Any) -> None:
        self.counts[key] += 1
        wanted = self.waiting.get(key)
        if wanted and self.counts[key] >= wanted[0] and not wanted[1].done():
            wanted[1].set_result(time.perf_counter())

    async def until(self, key: Any, count: int, timeout: float = 30.0) -> float:
        if self.counts[key] >= count:
            return time.perf_counter()
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[key] = (count, future)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.waiting.pop(key, None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def whatsapp_body(wa_id: str, wamid: str, text: str) -> bytes:
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Pekerja"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}],
        }}]}],
    }  # fmt: skip
    return json.dumps(body).encode()


def telegram_body(user_id: int, update_id: int, text: str) -> bytes:
    person = {"id": user_id, "is_bot": False, "first_name": "Pekerja", "language_code": "id"}
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Pekerja"},
        "from": person,
        "text": text,
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


Poster = Callable[[int, int, str], Awaitable[Any]]  # (user index, message index, text) -> recipient key


async def run_channel(
    name: str, post: Poster, waiter: Waiter, users: int, concurrency: int, offset: int
) -> dict[str, float]:
    # Warm-up: one user learns how many bubbles each step gets.
    per_step: list[int] = []
    for step, text in enumerate(CONVERSATION):
        key = await post(offset, step, text)
        before = waiter.counts[key]
        await asyncio.sleep(0.3)
        deadline = time.perf_counter() + 10
        while waiter.counts[key] == before and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        per_step.append(waiter.counts[key] - before)
    if not all(per_step):
        raise SystemExit(f"{name}: no reply to the warm-up conversation ({per_step})")

    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def one_user(index: int) -> None:
        async with gate:
            expected = 0
            for step, text in enumerate(CONVERSATION):
                started = time.perf_counter()
                key = await post(index, step, text)
                expected += per_step[step]
                done = await waiter.until(key, expected)
                latencies.append(done - started)

    began = time.perf_counter()
    await asyncio.gather(*(one_user(offset + 1 + i) for i in range(users)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "messages": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


async def wait_healthy(client: httpx.AsyncClient, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if (await client.get("/healthz")).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    return False


async def _healthy(port: int, proc: subprocess.Popen[bytes]) -> bool:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        return await wait_healthy(client, proc)


def _end(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def start_bot(tmp: str, port: int, graph_url: str, telegram_root: str | None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "BPU_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "BPU_HTTP_PORT": str(port),
        "BPU_SECRET_KEY": "bench-secret-key",
        "WHATSAPP_ACCESS_TOKEN": "bench-token",
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": "bench-verify",
        "WHATSAPP_API_BASE_URL": graph_url,
    }
    for key in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET"):
        env.pop(key, None)
    if telegram_root:
        env.update(
            TELEGRAM_BOT_TOKEN=TG_TOKEN,
            TELEGRAM_API_BASE_URL=telegram_root,
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhook/telegram",
            TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
        )
    code = "import sys; from bot.cli import main; main(['run'])"
    log = open(f"{tmp}/bot.log", "wb")  # noqa: SIM115  (closed with the temporary directory)
    return subprocess.Popen([sys.executable, "-c", code], cwd=tmp, env=env, stdout=log, stderr=log)


async def start_fake_telegram(waiter: Waiter) -> Any | None:
    try:
        from tests.channels.fake_telegram import FakeTelegram
    except ImportError:
        return None

    class Watched(FakeTelegram):  # type: ignore[misc, valid-type]
        async def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
            result = await super()._m_sendmessage(params)
            waiter.arrived(("tg", params.get("chat_id")))
            return result  # type: ignore[no-any-return]

    fake = Watched(TG_TOKEN)
    return await fake.start()


async def main_async(args: argparse.Namespace) -> None:
    waiter = Waiter()

    def on_send(sent: Sent) -> None:
        if sent.wamid:
            waiter.arrived(("wa", sent.recipient))

    graph = FakeGraph(on_send=on_send)  # served in this loop: called in it
    graph_url = await graph.serve()
    telegram = await start_fake_telegram(waiter) if args.telegram else None
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        proc = start_bot(tmp, port, graph_url, telegram.root if telegram else None)
        if telegram is not None and not await _healthy(port, proc):
            print("bpu-bot run did not start with Telegram on: measuring WhatsApp only", flush=True)
            _end(proc)
            await telegram.stop()
            telegram = None
            port = _free_port()
            proc = start_bot(tmp, port, graph_url, None)
        limits = httpx.Limits(max_connections=args.concurrency * 2, max_keepalive_connections=args.concurrency * 2)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
            try:
                if not await wait_healthy(client, proc):
                    raise SystemExit("bpu-bot run did not start")
                wamids = itertools.count(1)

                async def post_whatsapp(user: int, step: int, text: str) -> Any:
                    wa_id = f"6281{user:09d}"
                    raw = whatsapp_body(wa_id, f"wamid.BENCH{next(wamids):09d}", text)
                    signature = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
                    response = await client.post(
                        "/webhook/whatsapp", content=raw,
                        headers={"x-hub-signature-256": signature, "content-type": "application/json"},
                    )  # fmt: skip
                    response.raise_for_status()
                    return ("wa", wa_id)

                update_ids = itertools.count(1)

                async def post_telegram(user: int, step: int, text: str) -> Any:
                    user_id = 500_000_000 + user
                    raw = telegram_body(user_id, next(update_ids), text)
                    response = await client.post(
                        "/webhook/telegram", content=raw,
                        headers={"x-telegram-bot-api-secret-token": TG_SECRET, "content-type": "application/json"},
                    )  # fmt: skip
                    response.raise_for_status()
                    return ("tg", user_id)

                results["whatsapp"] = await run_channel(
                    "whatsapp", post_whatsapp, waiter, args.users, args.concurrency, 0
                )
                if telegram is not None:
                    results["telegram"] = await run_channel(
                        "telegram", post_telegram, waiter, args.users, args.concurrency, 0
                    )
            finally:
                _end(proc)
    if telegram is not None:
        await telegram.stop()
    graph._server.should_exit = True  # type: ignore[union-attr]
    await graph.task

    print(f"{args.users} users x {len(CONVERSATION)} messages, {args.concurrency} users at a time, SQLite")
    for name, r in results.items():
        print(
            f"  {name:9} {r['per_second']:7.1f} messages/s   p50 {r['p50_ms']:7.1f} ms   p99 {r['p99_ms']:7.1f} ms"
            f"   ({int(r['messages'])} messages)"
        )
    if "telegram" in results:
        wa, tg = results["whatsapp"], results["telegram"]
        print(
            f"  ratio whatsapp/telegram: throughput {wa['per_second'] / tg['per_second']:.2f}x,"
            f" p50 {wa['p50_ms'] / tg['p50_ms']:.2f}x, p99 {wa['p99_ms'] / tg['p99_ms']:.2f}x"
        )
    else:
        print("  telegram: not measured (channel not usable in this run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--telegram", action=argparse.BooleanOptionalAction, default=True)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
