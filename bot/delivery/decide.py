"""The delivery worker's decisions, as pure functions of what they read: no database, no clock of
their own, no platform. The worker (worker.py) gathers the facts and acts on the answer; the
tables in tests/delivery/test_decide.py pin each rule down.

- `hold(...)`: may this outbox row go out now, or is it skipped, or queued until later?
- `classify(...)`: what becomes of a row after its send, given the sender's result.
- `backoff(...)`: how long to wait before the next attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.channels.outcomes import FAILED as S_FAILED
from bot.channels.outcomes import NO_TEMPLATE as S_NO_TEMPLATE
from bot.channels.outcomes import OK, RETRY, Result
from bot.channels.outcomes import UNCERTAIN as S_UNCERTAIN
from bot.channels.outcomes import UNREACHABLE as S_UNREACHABLE
from bot.delivery.quiet import next_allowed
from storage.campaign_models import (
    CANCELLED,
    FAILED,
    KIND_BROADCAST,
    NO_ANSWER,
    NO_TEMPLATE,
    OPTED_OUT,
    PAID,
    QUEUED,
    QUIET_HOURS,
    REMINDER_OFF,
    SENT,
    SKIPPED,
    UNCERTAIN,
    UNREACHABLE,
)

RATE_LIMITED = "rate_limited"
RETRYING = "retrying"
GAVE_UP = "gave_up"
REJECTED = "rejected"


@dataclass(frozen=True)
class Hold:
    """A row that does not go out now: `state` skipped (never) or queued (at `until`)."""

    state: str
    reason: str
    until: datetime | None = None


@dataclass(frozen=True)
class Facts:
    """What the worker read about one row, its contact and what it belongs to."""

    kind: str
    broadcast_status: str | None  # None: no broadcast row (deleted) or not a broadcast
    quiet_policy: str | None  # the broadcast's: "defer" or "skip"
    reminder_active: bool | None  # None: not a reminder
    paid_for_due_month: bool
    opted_out: bool
    unreachable: bool
    zone: ZoneInfo
    whatsapp_out_of_window: bool = False  # WhatsApp only: the 24-hour window is closed
    has_template: bool = True  # WhatsApp only: an approved template exists for this purpose
    asked_for: bool = False  # a person's answer to the worker's own request: "stop" does not stop it
    in_conversation: bool = False  # the worker wrote moments ago: quiet hours do not hold the answer


def hold(facts: Facts, now: datetime, quiet: tuple[int, int]) -> Hold | None:
    """None when the row may go out now. The order matters: a row that will never go out is
    skipped before quiet hours would merely defer it."""
    if facts.kind == KIND_BROADCAST and facts.broadcast_status in (None, "cancelled"):
        return Hold(SKIPPED, CANCELLED)
    if facts.reminder_active is not None:
        if not facts.reminder_active:
            return Hold(SKIPPED, REMINDER_OFF)
        if facts.paid_for_due_month:
            return Hold(SKIPPED, PAID)
    if facts.opted_out and not facts.asked_for:
        return Hold(SKIPPED, OPTED_OUT)
    if facts.unreachable:
        return Hold(SKIPPED, UNREACHABLE)
    resume = None if facts.in_conversation else next_allowed(now, facts.zone, quiet)
    if resume is not None:
        if facts.quiet_policy == "skip":
            return Hold(SKIPPED, QUIET_HOURS)
        return Hold(QUEUED, QUIET_HOURS, until=resume)
    if facts.whatsapp_out_of_window and not facts.has_template:
        return Hold(SKIPPED, NO_TEMPLATE)
    return None


@dataclass(frozen=True)
class Verdict:
    """What a send's result makes of the row."""

    state: str
    reason: str | None = None
    retry_in: timedelta | None = None  # queued again after this long
    contact_unreachable: bool = False
    uncount: bool = False  # a 429: the attempt does not count
    pause: float | None = None  # seconds the whole lane waits (the platform asked)


def classify(result: Result, attempts_before: int, max_attempts: int, delay: Callable[[int], timedelta]) -> Verdict:
    """`attempts_before`: the row's attempts before this send; `delay(n)`: the wait before attempt n+1."""
    if result.outcome == OK:
        return Verdict(SENT)
    if result.outcome == S_UNREACHABLE:
        return Verdict(SKIPPED, UNREACHABLE, contact_unreachable=True)
    if result.outcome == S_NO_TEMPLATE:
        return Verdict(SKIPPED, NO_TEMPLATE)
    if result.outcome == S_UNCERTAIN:
        return Verdict(UNCERTAIN, NO_ANSWER)  # it may have arrived: never sent again by itself
    if result.outcome == RETRY and result.rate_limited:
        wait = max(result.retry_after or 1.0, 0.0)
        return Verdict(QUEUED, RATE_LIMITED, retry_in=timedelta(seconds=wait), uncount=True, pause=wait)
    attempts = attempts_before + 1
    if result.outcome == RETRY and attempts < max_attempts:
        return Verdict(QUEUED, RETRYING, retry_in=delay(attempts))
    if result.outcome not in (RETRY, S_FAILED):
        raise ValueError(f"unknown send outcome {result.outcome!r}")
    return Verdict(FAILED, GAVE_UP if result.outcome == RETRY else REJECTED)


def backoff(attempts: int, base: float, cap: float, rand: Callable[[], float]) -> timedelta:
    """Exponential back-off with full jitter: uniform in [base/2, min(cap, base * 2**(attempts-1))]."""
    top = min(cap, base * (2 ** max(attempts - 1, 0)))
    low = min(base / 2, top)
    return timedelta(seconds=low + (top - low) * rand())
