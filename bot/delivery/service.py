"""Campaigns in `bpu-bot run`: the delivery worker and the scheduler, built from the settings.

    campaigns = Campaigns.from_runtime(runtime)   # after the channels are built
    await campaigns.start()                       # in the app's lifespan, after the channels
    ...
    await campaigns.stop()

The senders get connections of their own (a second Telegram backend, a second WhatsApp channel
object with its own Graph client): bulk sends never hold a connection a live reply waits for.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.delivery.scheduler import CampaignScheduler
from bot.delivery.senders import BotApi, Sender, TelegramSender, WhatsAppSender
from bot.delivery.settings import DeliverySettings
from bot.delivery.worker import DeliveryWorker

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


class Campaigns:
    def __init__(self, worker: DeliveryWorker | None, scheduler: CampaignScheduler, db: Any) -> None:
        self.worker = worker
        self.scheduler = scheduler
        self.db = db

    @classmethod
    def from_runtime(cls, runtime: Runtime, settings: DeliverySettings | None = None) -> Campaigns:
        from bot.settings import parse_quiet_hours

        s = runtime.settings
        ds = settings or runtime.settings  # one settings object, read once at start
        senders: dict[str, Sender] = {}
        if s.telegram_enabled:
            # Bulk sends need only a message id back: the lean Bot API client, no library backend
            # (its own connections, so a broadcast never holds one a live reply waits for).
            api = BotApi(s.telegram_api_base_url, s.telegram_bot_token or "")
            senders["telegram"] = TelegramSender(None, api=api)
        if s.whatsapp_enabled:
            from bot.channels.whatsapp import make_whatsapp_channel

            # Retries belong to the worker, behind the pacer; the client must not retry on its own.
            senders["whatsapp"] = WhatsAppSender(make_whatsapp_channel(runtime, retry_delays=()))
        # One clock for the conversation, the scheduler and the worker: "sudah bayar" on a day
        # and the reminder of that day are judged on the same calendar (and tests can move it).
        clock = runtime.engine.clock
        worker = None
        if senders:
            worker = DeliveryWorker(
                runtime.db, senders, settings=ds, renderer=runtime.engine.services.renderer,
                quiet=parse_quiet_hours(s.quiet_hours), default_tz=s.timezone, clock=clock,
            )  # fmt: skip
        scheduler = CampaignScheduler(
            runtime.db,
            settings=ds,
            default_tz=s.timezone,
            clock=clock,
            on_queued=worker.wake if worker else None,
            followup_hours=s.followup_hours,
        )
        return cls(worker, scheduler, runtime.db)

    async def start(self) -> None:
        if self.worker is not None:
            for sender in self.worker.senders.values():
                if isinstance(sender, TelegramSender):
                    await sender.start()
            await self.worker.start()
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        if self.worker is not None:
            await self.worker.stop()

    async def health(self) -> dict[str, Any]:
        """The `outbox`, `lanes` and `scheduler` keys of /healthz, and `problems`: why it is not ok.

        Every lane this process delivers on is reported (last success, consecutive errors,
        backlog, age of the oldest due row); see bot/delivery/health.py for when one is failing.
        """
        from bot.delivery.health import backlogs
        from storage.clock import utcnow

        now = self.worker.clock() if self.worker is not None else utcnow()
        problems: list[str] = []
        try:
            async with self.db.session() as session:
                per_channel = await backlogs(session, now)
        except Exception as exc:
            per_channel = {}
            problems.append(f"outbox: cannot be read ({type(exc).__name__})")
        lanes: dict[str, Any] = {}
        if self.worker is not None:
            for channel, lane in self.worker.lane_health.items():
                report = lane.report(now, per_channel.get(channel, {}))
                lanes[channel] = report
                if report["reason"]:
                    problems.append(f"{channel} lane: {report['reason']}")
        oldest = min((b["oldest_due"] for b in per_channel.values() if b.get("oldest_due")), default=None)
        outbox = {
            "queued": sum(b["due"] for b in per_channel.values()),
            "deferred": sum(b["deferred"] for b in per_channel.values()),
            "oldest_queued_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
            "worker": "on" if self.worker is not None and self.worker.running else "off",
        }
        return {"outbox": outbox, "lanes": lanes, "scheduler": self.scheduler.state, "problems": problems}
