"""APScheduler (3.x, AsyncIOScheduler) inside `bpu-bot run`, in exactly one process.

APScheduler 3 cannot share a job store between processes (its FAQ: "You can't"), so every
process keeps its jobs in memory and only the holder of a PostgreSQL advisory lock (on a
connection of its own, locks.py) runs them; the others retry the lock every
`LEADER_RETRY_SECONDS` and take over when the leader's connection ends. On SQLite the one
process is always the leader. All processes may deliver (worker.py): the scheduler only fills
the outbox, from SQL, so a job run twice (a leader change mid-run) queues nothing twice.

Jobs, all reading their work from SQL, none per worker or per broadcast:
- broadcasts: every BPU_BROADCAST_TICK_SECONDS, fan out the broadcasts whose time has come and
  mark finished ones done. A broadcast created by the CLI in another process is seen here.
- reminders: every BPU_REMINDER_TICK_SECONDS, queue the reminder occurrences that are due.

Misfire and coalescing, on purpose: each run does everything that is overdue, so a run missed
while the loop was busy (or the machine slept) needs one catch-up, not a burst of them:
`coalesce=True`; and a late run is still useful however late it is, since nothing is due twice:
`misfire_grace_time=None` (run however late). `max_instances=1`: a slow fan-out of 100,000
rows never overlaps the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery import digest, reminders
from bot.delivery.locks import SCHEDULER_NS, AdvisoryLock
from bot.delivery.settings import DeliverySettings
from handlers import broadcasts
from storage.clock import utcnow
from storage.db import Database

log = logging.getLogger(__name__)

LEADER_RETRY_SECONDS = 15.0
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}


class CampaignScheduler:
    def __init__(
        self,
        db: Database,
        *,
        settings: DeliverySettings | None = None,
        default_tz: str = "Asia/Jakarta",
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] | None = None,
        leader_retry: float = LEADER_RETRY_SECONDS,
        followup_hours: int = 48,
    ) -> None:
        self.db = db
        self.settings = settings or DeliverySettings()
        self.default_tz = default_tz
        self.clock = clock
        self.on_queued = on_queued or (lambda: None)
        self.leader_retry = leader_retry
        self.followup_hours = followup_hours
        self.lock = AdvisoryLock(db.url, SCHEDULER_NS, 1)
        self.aps: AsyncIOScheduler | None = None
        self.leader = False
        self.last_tick: dict[str, datetime] = {}

    @property
    def state(self) -> str:
        if self.aps is None:
            return "off"
        return "leader" if self.leader else "standby"

    async def start(self) -> None:
        self.aps = AsyncIOScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
        self.aps.start()
        await self._try_lead()
        # Standby processes try again; the leader re-checks that its lock connection lives.
        self.aps.add_job(self._try_lead, "interval", seconds=self.leader_retry, id="leader")

    async def stop(self) -> None:
        if self.aps is not None:
            self.aps.shutdown(wait=False)
            self.aps = None
        await self.lock.release()
        self.leader = False

    async def _try_lead(self) -> None:
        held = await self.lock.try_acquire()
        if held and not self.leader:
            self.leader = True
            log.info("scheduler: this process runs the campaign scheduler")
            assert self.aps is not None
            s = self.settings
            self.aps.add_job(self.tick_broadcasts, "interval", seconds=s.broadcast_tick_seconds, id="broadcasts",
                             next_run_time=datetime.now(tz=self.aps.timezone), replace_existing=True)  # fmt: skip
            self.aps.add_job(self.tick_reminders, "interval", seconds=s.reminder_tick_seconds, id="reminders",
                             next_run_time=datetime.now(tz=self.aps.timezone), replace_existing=True)  # fmt: skip
            # 07:30 local, once a day; a run missed by up to 4 hours (a restart) still goes out, and
            # a second run the same day queues nothing (digest.source_key).
            self.aps.add_job(self.tick_digests, "cron", hour=7, minute=30, timezone=self.default_tz, id="digests",
                             coalesce=True, misfire_grace_time=4 * 3600, replace_existing=True)  # fmt: skip
        elif not held and self.leader:
            self.leader = False
            log.error("scheduler: lost the leader lock; jobs stop here (another process takes over)")
            assert self.aps is not None
            for job_id in ("broadcasts", "reminders", "digests"):
                if self.aps.get_job(job_id):
                    self.aps.remove_job(job_id)

    async def tick_broadcasts(self) -> int:
        """Fan out due broadcasts (one transaction each); mark finished ones done."""
        if not self.leader:
            return 0
        queued = 0
        while True:
            now = self.clock()
            async with self.db.session() as session:
                due = await broadcasts.due_broadcasts(session, now, limit=1)
                if not due:
                    await broadcasts.finish_done(session, now)
                    break
                n = await broadcasts.fan_out(session, due[0], now, daily_limit=self.settings.whatsapp_daily_limit)
                log.info("broadcast %s: %d recipients queued", due[0].id, n)
                queued += n
        self.last_tick["broadcasts"] = self.clock()
        if queued:
            self.on_queued()
        return queued

    async def tick_digests(self) -> int:
        """Each coordinator's daily digest of waiting leads and callback requests (bot/delivery/digest.py)."""
        if not self.leader:
            return 0
        n = await digest.send_digests(
            self.db, self.on_queued, self.clock(), followup_hours=self.followup_hours, tz=self.default_tz
        )
        self.last_tick["digests"] = self.clock()
        return n

    async def tick_reminders(self) -> int:
        if not self.leader:
            return 0
        total = 0
        while True:
            now = self.clock()
            async with self.db.session() as session:
                n = await reminders.tick(
                    session, now, days_before=self.settings.reminder_days_before,
                    hour=self.settings.reminder_hour, default_tz=self.default_tz,
                )  # fmt: skip
            total += n
            if n < 500:
                break
        self.last_tick["reminders"] = self.clock()
        if total:
            self.on_queued()
        return total

    def health(self) -> dict[str, Any]:
        return {"state": self.state, **{f"last_{k}": v.isoformat() for k, v in self.last_tick.items()}}
