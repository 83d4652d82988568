"""Whether each delivery lane is doing its job, for /healthz and for the log.

A lane is *failing* while errors of one kind go on with no success of that kind between them:
a claim or a mark that raises ends only with a claim that works (the database), and a send the
platform refuses for reasons that are not the recipient's (a 5xx, a timeout, a bad token) ends
only with a send that goes out (the platform): a claim that finds nothing due while the failed
rows wait for their retry says nothing about the platform. A lane that has been failing for
longer than `FAILING_AFTER` turns /healthz to 503.

A lane's *backlog is stale* when the oldest row that is due has waited longer than
`STALE_AFTER` and the lane has sent nothing for as long: nothing is moving. A big campaign
paced at the platform's rate has old due rows too, but sends all the time, so it stays healthy.

A failing lane logs once a minute, with its cause and how many errors it had meanwhile, not
once per claim (a database outage used to write a traceback every second per lane).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.campaign_models import CLAIMED, QUEUED, OutboxRow
from storage.clock import as_utc

FAILING_AFTER = timedelta(minutes=5)
STALE_AFTER = timedelta(minutes=15)
LOG_EVERY = timedelta(minutes=1)


DATABASE = "database"
PLATFORM = "platform"


@dataclass
class LaneHealth:
    last_success: datetime | None = None  # the last send that went out
    consecutive_errors: int = 0
    last_error: str | None = None
    _since: dict[str, datetime] = field(default_factory=dict)  # kind -> failing since
    _errors: dict[str, int] = field(default_factory=dict)
    _logged_at: datetime | None = None
    _unlogged: int = 0

    @property
    def failing_since(self) -> datetime | None:
        return min(self._since.values(), default=None)

    def success(self, now: datetime, kind: str = PLATFORM) -> None:
        if kind == PLATFORM:
            self.last_success = now
        self._since.pop(kind, None)
        self._errors.pop(kind, None)
        self.consecutive_errors = sum(self._errors.values())

    def error(self, now: datetime, cause: str, kind: str = PLATFORM) -> bool:
        """Count an error; True when it should be logged now (the first, then once a minute)."""
        self._since.setdefault(kind, now)
        self._errors[kind] = self._errors.get(kind, 0) + 1
        self.consecutive_errors = sum(self._errors.values())
        self.last_error = cause[:300]
        self._unlogged += 1
        if self._logged_at is None or now - self._logged_at >= LOG_EVERY or self.consecutive_errors == 1:
            self._logged_at = now
            return True
        return False

    def take_unlogged(self) -> int:
        """Errors since the last log line (the line says how many it stands for)."""
        n, self._unlogged = self._unlogged, 0
        return n

    def problem(self, now: datetime, oldest_due: datetime | None) -> str | None:
        """Why this lane is unhealthy, or None."""
        if self.failing_since is not None and now - self.failing_since > FAILING_AFTER:
            minutes = int((now - self.failing_since).total_seconds() // 60)
            return f"failing for {minutes} min: {self.last_error}"
        if oldest_due is not None and now - oldest_due > STALE_AFTER:
            idle_since = self.last_success
            if idle_since is None or now - idle_since > STALE_AFTER:
                minutes = int((now - oldest_due).total_seconds() // 60)
                return f"due messages waiting for {minutes} min and nothing sent meanwhile"
        return None

    def report(self, now: datetime, backlog: dict[str, Any]) -> dict[str, Any]:
        oldest = backlog.get("oldest_due")
        problem = self.problem(now, oldest)
        return {
            "status": "failing" if problem else "ok",
            "reason": problem,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "consecutive_errors": self.consecutive_errors,
            "last_error": self.last_error,
            "backlog": backlog.get("due", 0),
            "deferred": backlog.get("deferred", 0),
            "oldest_due_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
        }


async def backlogs(session: AsyncSession, now: datetime) -> dict[str, dict[str, Any]]:
    """Per channel: rows due now and not yet attempted, the oldest of them, and rows deferred to later."""
    rows = await session.execute(
        select(
            OutboxRow.channel,
            func.count().filter(OutboxRow.not_before <= now),
            func.min(OutboxRow.not_before).filter(OutboxRow.not_before <= now),
            func.count().filter(OutboxRow.not_before > now),
        )
        .where(OutboxRow.state.in_((QUEUED, CLAIMED)))
        .group_by(OutboxRow.channel)
    )
    out: dict[str, dict[str, Any]] = {}
    for channel, due, oldest, deferred in rows.all():
        out[channel] = {
            "due": int(due or 0),
            "oldest_due": as_utc(oldest) if oldest else None,
            "deferred": int(deferred or 0),
        }
    return out
