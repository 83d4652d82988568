"""/metrics in Prometheus' text format (prometheus-client), one registry per process.

What a branch's operator watches: updates handled by channel and outcome, the time from an
update in to its answer, how often the bot did not understand (the NLU fallback), sends by
outcome per lane, the outbox backlog and its oldest due row by lane, and leads. Counters count
in this process (Prometheus sums the processes); the backlog and the leads are read from the
database when scraped, so every process reports the same shared figure. Nothing a worker wrote
is in a label: only channel names, outcomes and fixed categories.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from handlers.engine import Handled
from handlers.misses import AGENCY, MISSES
from storage.campaign_models import QUEUED, OutboxRow
from storage.clock import as_utc
from storage.db import Database
from storage.models import Lead

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds from an update in to its answer: a reply a worker waits for; 300 ms is the goal (issue 17).
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
SEND_OUTCOMES = ("sent", "uncertain", "failed", "skipped")


def understood(intent: str | None) -> str:
    """The NLU category of an answered update: understood, not understood (a fallback), or other."""
    if intent is None:
        return "other"
    if intent in MISSES:
        return "fallback"
    if intent.startswith((AGENCY, "[", "form", "staff", "reminder", "s:")):
        return "other"  # a button, a form step, another agency named: not the classifier's guess
    return "understood"


class _Sends(Collector):
    """Sends by lane and outcome, read from the delivery worker's own counts at scrape time."""

    def __init__(self, stats: Callable[[], Mapping[str, Any]]) -> None:
        self._stats = stats

    def collect(self) -> Any:
        family = CounterMetricFamily("bpu_sends", "Bulk sends by lane and outcome", labels=["channel", "outcome"])
        for channel, lane in self._stats().items():
            for outcome in SEND_OUTCOMES:
                family.add_metric([channel, outcome], float(getattr(lane, outcome, 0)))
        yield family


class Metrics:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "bpu_updates", "Updates handled, by channel and outcome", ["channel", "outcome"], registry=self.registry
        )
        self.latency = Histogram(
            "bpu_answer_seconds",
            "Time from an update in to its answer ready, by channel",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.nlu = Counter(
            "bpu_nlu_answers", "Answered updates by what the bot made of them", ["result"], registry=self.registry
        )
        self.backlog = Gauge(
            "bpu_outbox_due", "Outbox rows due now and not sent yet, by lane", ["channel"], registry=self.registry
        )
        self.oldest = Gauge(
            "bpu_outbox_oldest_due_seconds",
            "Age of the oldest outbox row due now, by lane (0 when none)",
            ["channel"],
            registry=self.registry,
        )
        self.leads = Gauge("bpu_leads", "Leads in the database, by status", ["status"], registry=self.registry)
        self._lane_stats: Callable[[], Mapping[str, Any]] = dict
        self.registry.register(_Sends(lambda: self._lane_stats()))

    def observe(self, handled: Handled) -> None:
        """The engine's `observe`: called once per update, off nothing (no I/O)."""
        self.updates.labels(handled.channel, handled.outcome).inc()
        if handled.outcome == "answered":
            self.latency.labels(handled.channel).observe(handled.seconds)
            self.nlu.labels(understood(handled.intent)).inc()

    def watch_sends(self, stats: Callable[[], Mapping[str, Any]]) -> None:
        """Read the delivery worker's per-lane counts when scraped (this process's worker, if any)."""
        self._lane_stats = stats

    async def render(self) -> bytes:
        """The text a scrape gets: the database's figures refreshed first."""
        now = self.clock()
        async with self.db.session() as session:
            due = (
                await session.execute(
                    select(OutboxRow.channel, func.count(), func.min(OutboxRow.not_before))
                    .where(OutboxRow.state == QUEUED, OutboxRow.not_before <= now)
                    .group_by(OutboxRow.channel)
                )
            ).all()
            statuses = (await session.execute(select(Lead.status, func.count()).group_by(Lead.status))).all()
        self.backlog.clear()
        self.oldest.clear()
        for channel, count, oldest in due:
            self.backlog.labels(channel).set(count)
            self.oldest.labels(channel).set(max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest else 0.0)
        self.leads.clear()
        for status, count in statuses:
            self.leads.labels(status).set(count)
        return generate_latest(self.registry)
