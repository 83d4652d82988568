"""Broadcast benchmark: the delivery worker against a loopback Bot API server in another process.

    .venv/bin/python bench/broadcast.py [--recipients 100000] [--limit 30] [--seconds 60] [--db URL]
                                        [--sender lean|library]

1. no limit: 100,000 recipients as fast as the worker goes: sends per second, peak RSS, and the
   RSS at 25/50/100% of the broadcast (it must not grow with the number of recipients);
2. a 30 per second limit for 60 seconds (BROADCAST_HEADROOM=0): the achieved rate as a fraction
   of the limit, and the 429s the server answered (it answers 429 above the limit in any
   sliding one-second window, as Telegram would).
Targets: >= 1,000 sends/s; >= 95% of the limit with zero 429s; peak RSS < 250 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOKEN = "123456:BENCH-token"


def _server(port_q: mp.Queue, limit: float) -> None:  # runs in its own process
    from aiohttp import web

    stats = {"sent": 0, "429": 0}
    window: deque[float] = deque()
    ids = iter(range(1, 10**9))

    async def handle(request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        if method == "getme":
            return web.json_response(
                {"ok": True, "result": {"id": 123456, "is_bot": True, "first_name": "B", "username": "b"}}
            )
        if method == "stats":
            return web.json_response(stats)
        params = await request.json() if request.content_type == "application/json" else dict(await request.post())
        now = time.monotonic()
        if limit:
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                stats["429"] += 1
                return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                          "parameters": {"retry_after": 1}}, status=429)  # fmt: skip
            window.append(now)
        stats["sent"] += 1
        chat = int(params.get("chat_id"))
        return web.json_response({"ok": True, "result": {"message_id": next(ids), "date": int(time.time()),
                                  "chat": {"id": chat, "type": "private"}, "text": str(params.get("text"))}})  # fmt: skip

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_q.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


def _start_server(limit: float) -> tuple[mp.Process, str]:
    q: mp.Queue = mp.Queue()
    proc = mp.Process(target=_server, args=(q, limit), daemon=True)
    proc.start()
    return proc, f"http://127.0.0.1:{q.get(timeout=20)}"


async def _stats(root: str) -> dict[str, int]:
    import aiohttp

    async with aiohttp.ClientSession() as s, s.post(f"{root}/bot{TOKEN}/stats") as r:
        return await r.json()


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


async def _phase(db_url: str, root: str, n: int, rate: float | None, seconds: float | None,
                 sender_kind: str = "lean") -> dict[str, float]:  # fmt: skip
    from sqlalchemy import delete, insert

    from bot.channels.telegram.backend_aiogram import AiogramBackend
    from bot.channels.telegram.bulk import BotApi, TelegramSender
    from bot.delivery.settings import DeliverySettings
    from bot.delivery.worker import DeliveryWorker
    from handlers import broadcasts
    from storage.campaign_models import Broadcast, OutboxRow
    from storage.clock import utcnow
    from storage.db import Database
    from storage.models import Contact

    db = Database(db_url)
    async with db.session() as s:
        await s.execute(delete(OutboxRow))
        await s.execute(delete(Broadcast))
        await s.execute(delete(Contact))
    now = utcnow()
    for i in range(0, n, 10_000):
        async with db.session() as s:
            await s.execute(insert(Contact), [{"channel": "telegram", "external_id": str(10**6 + j), "language": "id",
                                               "timezone": "Asia/Jakarta", "created_at": now}
                                              for j in range(i, min(n, i + 10_000))])  # fmt: skip
    async with db.session() as s:
        b = await broadcasts.create(s, created_by="bench", segment={}, channels=["telegram"], template=None,
                                    text="Sosialisasi BPU di kelurahan, Sabtu pukul 09.00.", now=now)  # fmt: skip
        await broadcasts.fan_out(s, b, now, daily_limit=0)
    settings = DeliverySettings(BROADCAST_HEADROOM=0.0)  # type: ignore[call-arg]
    api = BotApi(root, TOKEN) if sender_kind == "lean" else None  # as `bpu-bot run` sends
    sender = TelegramSender(AiogramBackend(TOKEN, root), api=api)
    worker = DeliveryWorker(db, {"telegram": sender}, settings=settings, rates={"telegram": rate}, quiet=(0, 0),
                            batch=1000, poll=0.05)  # fmt: skip
    start_stats = await _stats(root)
    rss_marks: dict[str, float] = {}
    t0 = time.monotonic()
    await worker.start()
    lane = worker.stats["telegram"]
    while True:
        await asyncio.sleep(0.25)
        done = lane.sent
        for mark in (0.25, 0.5):
            if done >= n * mark and f"{int(mark * 100)}%" not in rss_marks:
                rss_marks[f"{int(mark * 100)}%"] = _rss_mb()
        if seconds is not None and time.monotonic() - t0 >= seconds:
            break
        if seconds is None and done >= n:
            break
    elapsed = time.monotonic() - t0
    rss_marks["end"] = _rss_mb()
    await worker.stop()
    await db.dispose()
    end_stats = await _stats(root)
    return {
        "sent": end_stats["sent"] - start_stats["sent"],
        "elapsed": elapsed,
        "429": end_stats["429"] - start_stats["429"],
        **{f"rss_{k}": v for k, v in rss_marks.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipients", type=int, default=100_000)
    ap.add_argument("--limit", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--sender", choices=("lean", "library"), default="lean",
                    help="lean: JSON posts (BotApi, what `bpu-bot run` uses); library: through aiogram")  # fmt: skip
    args = ap.parse_args()
    from storage.migrate import upgrade

    tmp = tempfile.mkdtemp(prefix="bpu-bench-")
    db_url = args.db or f"sqlite:///{tmp}/bench.db"
    upgrade(db_url)

    server, root = _start_server(0)
    r = asyncio.run(_phase(db_url, root, args.recipients, None, None, args.sender))
    server.terminate()
    print(f"no limit: {r['sent']:.0f} sends in {r['elapsed']:.1f} s = {r['sent'] / r['elapsed']:.0f} sends/s"
          f" (target >= 1000)")  # fmt: skip
    print(f"  RSS MB at 25% {r.get('rss_25%', 0):.0f}, 50% {r.get('rss_50%', 0):.0f}, end {r['rss_end']:.0f};"
          f" peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (target < 250)")  # fmt: skip

    server, root = _start_server(args.limit)
    n = int(args.limit * args.seconds * 1.5) + 100
    r = asyncio.run(_phase(db_url, root, n, args.limit, args.seconds, args.sender))
    server.terminate()
    achieved = r["sent"] / r["elapsed"]
    print(f"limit {args.limit:.0f}/s for {r['elapsed']:.0f} s: {r['sent']:.0f} sent = {achieved:.2f}/s ="
          f" {100 * achieved / args.limit:.1f}% of the limit (target >= 95%), 429s received: {r['429']:.0f} (target 0)")  # fmt: skip


if __name__ == "__main__":
    main()
