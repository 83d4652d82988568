"""A delivery worker (and the scheduler) in a process of its own, for the crash and multi-process tests.

    python -m tests.delivery.worker_proc DB_URL TELEGRAM_ROOT RATE [--scheduler] [--exit-when-idle]

Prints `ready <token>` when it runs, `scheduler <state>` if asked, `idle` when the outbox is drained.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys


async def main(argv: list[str]) -> None:
    from bot.channels.telegram.bulk import BotApi, TelegramSender
    from bot.delivery.scheduler import CampaignScheduler
    from bot.delivery.settings import DeliverySettings
    from bot.delivery.worker import DeliveryWorker
    from storage.db import Database

    p = argparse.ArgumentParser()
    p.add_argument("db")
    p.add_argument("root")
    p.add_argument("rate", type=float)
    p.add_argument("--scheduler", action="store_true")
    p.add_argument("--exit-when-idle", action="store_true")
    args = p.parse_args(argv)
    db = Database(args.db)
    token = "123456:TEST-token"
    # BotApi alone, as `bpu-bot run` sends: no Telegram library to import (seconds per process).
    sender = TelegramSender(None, api=BotApi(args.root, token))
    settings = DeliverySettings(BROADCAST_HEADROOM=0.0, BPU_BROADCAST_TICK_SECONDS=0.2)  # type: ignore[call-arg]
    worker = DeliveryWorker(db, {"telegram": sender}, settings=settings, rates={"telegram": args.rate or None},
                            quiet=(0, 0), poll=0.1)  # fmt: skip
    await worker.start()
    print("ready", worker.token, flush=True)
    scheduler = None
    if args.scheduler:
        scheduler = CampaignScheduler(db, settings=settings, on_queued=worker.wake, leader_retry=0.5)
        await scheduler.start()
        print("scheduler", scheduler.state, flush=True)
    try:
        while True:
            await asyncio.sleep(0.2)
            if args.exit_when_idle and await worker.idle():
                # Idle twice in a row, a moment apart: nothing left for anyone.
                await asyncio.sleep(0.5)
                if await worker.idle():
                    break
    finally:
        if scheduler is not None:
            print("scheduler", scheduler.state, flush=True)
            await scheduler.stop()
        await worker.stop()
        await db.dispose()
    print("idle", worker.stats["telegram"].sent, flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(sys.argv[1:]))
