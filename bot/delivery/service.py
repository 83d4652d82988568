"""Campaigns in `bpu-bot run`: the delivery worker and the scheduler, built from the settings.

    campaigns = Campaigns.from_deps(runtime.deps)   # after the channels are built
    await campaigns.start()                       # in the app's lifespan, after the channels
    ...
    await campaigns.stop()

Each channel the settings turn on that can send in bulk gives its sender (bot/channels/registry.py);
senders get connections of their own: bulk sends never hold a connection a live reply waits for.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.channels import registry
from bot.channels.base import ChannelDeps
from bot.delivery.scheduler import CampaignScheduler
from bot.delivery.settings import DeliverySettings
from bot.delivery.worker import DeliveryWorker

log = logging.getLogger(__name__)


class Campaigns:
    def __init__(self, worker: DeliveryWorker | None, scheduler: CampaignScheduler, db: Any) -> None:
        self.worker = worker
        self.scheduler = scheduler
        self.db = db

    @classmethod
    def from_deps(cls, deps: ChannelDeps, settings: DeliverySettings | None = None) -> Campaigns:
        from bot.settings import parse_quiet_hours

        s = deps.settings
        ds = settings or deps.settings  # one settings object, read once at start
        senders = registry.senders(deps)
        # One clock for the conversation, the scheduler and the worker: "sudah bayar" on a day
        # and the reminder of that day are judged on the same calendar (and tests can move it).
        clock = deps.clock
        worker = None
        if senders:
            worker = DeliveryWorker(
                deps.db, senders, settings=ds, renderer=deps.engine.services.renderer,
                quiet=parse_quiet_hours(s.quiet_hours), default_tz=s.timezone, clock=clock,
            )  # fmt: skip
        scheduler = CampaignScheduler(
            deps.db,
            settings=ds,
            default_tz=s.timezone,
            clock=clock,
            on_queued=worker.wake if worker else None,
            followup_hours=s.followup_hours,
        )
        return cls(worker, scheduler, deps.db)

    async def start(self) -> None:
        if self.worker is not None:
            for sender in self.worker.senders.values():
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
