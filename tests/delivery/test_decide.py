"""The worker's decisions as tables (bot/delivery/decide.py), on a fixed clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.channels.outcomes import FAILED as S_FAILED
from bot.channels.outcomes import NO_TEMPLATE as S_NO_TEMPLATE
from bot.channels.outcomes import OK, RETRY, Result
from bot.channels.outcomes import UNCERTAIN as S_UNCERTAIN
from bot.channels.outcomes import UNREACHABLE as S_UNREACHABLE
from bot.delivery import decide
from storage.campaign_models import KIND_BROADCAST

WIB = ZoneInfo("Asia/Jakarta")
WIT = ZoneInfo("Asia/Jayapura")
QUIET = (21, 7)  # 21:00 to 07:00 local
NOON_WIB = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 12:00 WIB, 14:00 WIT
NIGHT_WIB = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 22:00 WIB, 00:00 WIT
BROADCAST = decide.Facts(kind=KIND_BROADCAST, broadcast_status="sending", quiet_policy="defer", reminder_active=None,
                         paid_for_due_month=False, opted_out=False, unreachable=False, zone=WIB)  # fmt: skip
REMINDER = replace(BROADCAST, kind="reminder", broadcast_status=None, quiet_policy=None, reminder_active=True)


@pytest.mark.parametrize(
    ("facts", "now", "expected"),
    [
        (BROADCAST, NOON_WIB, None),
        (REMINDER, NOON_WIB, None),
        (replace(BROADCAST, broadcast_status="cancelled"), NOON_WIB, ("skipped", "cancelled")),
        (replace(BROADCAST, broadcast_status=None), NOON_WIB, ("skipped", "cancelled")),  # its broadcast is gone
        (replace(REMINDER, reminder_active=False), NOON_WIB, ("skipped", "reminder_off")),
        (replace(REMINDER, paid_for_due_month=True), NOON_WIB, ("skipped", "paid")),
        (replace(BROADCAST, paid_for_due_month=True), NOON_WIB, None),  # payments concern reminders only
        (replace(BROADCAST, opted_out=True), NOON_WIB, ("skipped", "opted_out")),
        (replace(REMINDER, unreachable=True), NOON_WIB, ("skipped", "unreachable")),
        # a row that will never go out is skipped before quiet hours would defer it
        (replace(BROADCAST, opted_out=True), NIGHT_WIB, ("skipped", "opted_out")),
        (BROADCAST, NIGHT_WIB, ("queued", "quiet_hours")),
        (replace(BROADCAST, quiet_policy="skip"), NIGHT_WIB, ("skipped", "quiet_hours")),
        (REMINDER, NIGHT_WIB, ("queued", "quiet_hours")),
        (replace(BROADCAST, zone=WIT), NOON_WIB, None),
        (replace(BROADCAST, zone=WIT), datetime(2026, 12, 1, 12, 30, tzinfo=UTC), ("queued", "quiet_hours")),
        (replace(BROADCAST, whatsapp_out_of_window=True, has_template=False), NOON_WIB, ("skipped", "no_template")),
        (replace(BROADCAST, whatsapp_out_of_window=True, has_template=True), NOON_WIB, None),
        (replace(BROADCAST, whatsapp_out_of_window=False, has_template=False), NOON_WIB, None),
    ],
)
def test_hold(facts: decide.Facts, now: datetime, expected: tuple[str, str] | None) -> None:
    held = decide.hold(facts, now, QUIET)
    assert (None if held is None else (held.state, held.reason)) == expected


def test_quiet_hours_defer_to_seven_in_the_morning_local_time() -> None:
    held = decide.hold(BROADCAST, NIGHT_WIB, QUIET)
    assert held is not None and held.until == datetime(2026, 12, 2, 7, 0, tzinfo=WIB)
    after_midnight = decide.hold(BROADCAST, datetime(2026, 12, 1, 20, 0, tzinfo=UTC), QUIET)  # 03:00 WIB
    assert after_midnight is not None and after_midnight.until == datetime(2026, 12, 2, 7, 0, tzinfo=WIB)


def _delay(n: int) -> timedelta:
    return timedelta(seconds=10 * n)


@pytest.mark.parametrize(
    ("result", "attempts_before", "expected"),
    [
        (Result(OK), 0, ("sent", None, None)),
        (Result(S_UNREACHABLE), 0, ("skipped", "unreachable", None)),
        (Result(S_NO_TEMPLATE), 0, ("skipped", "no_template", None)),
        (Result(S_UNCERTAIN), 0, ("uncertain", "no_answer", None)),
        (Result(S_UNCERTAIN), 4, ("uncertain", "no_answer", None)),  # never retried, whatever the count
        (Result(RETRY), 0, ("queued", "retrying", 10)),
        (Result(RETRY), 3, ("queued", "retrying", 40)),
        (Result(RETRY), 4, ("failed", "gave_up", None)),  # the fifth attempt was the last
        (Result(S_FAILED), 0, ("failed", "rejected", None)),
        (Result(RETRY, rate_limited=True, retry_after=7), 4, ("queued", "rate_limited", 7)),  # a 429 never uses up
        (Result(RETRY, rate_limited=True), 0, ("queued", "rate_limited", 1)),
    ],
)
def test_classify(result: Result, attempts_before: int, expected: tuple[str, str | None, int | None]) -> None:
    verdict = decide.classify(result, attempts_before, 5, _delay)
    waited = None if verdict.retry_in is None else verdict.retry_in.total_seconds()
    assert (verdict.state, verdict.reason, waited) == expected
    assert verdict.contact_unreachable == (result.outcome == S_UNREACHABLE)
    assert verdict.uncount == bool(result.rate_limited)
    assert verdict.pause == (waited if result.rate_limited else None)


def test_an_unknown_outcome_is_an_error_not_a_silent_failure() -> None:
    with pytest.raises(ValueError, match="unknown send outcome"):
        decide.classify(Result("exploded"), 0, 5, _delay)


@pytest.mark.parametrize(
    ("attempts", "rand", "seconds"),
    [(1, 0.0, 15.0), (1, 1.0, 30.0), (2, 1.0, 60.0), (3, 0.5, 67.5), (10, 1.0, 600.0), (10, 0.0, 15.0), (0, 1.0, 30.0)],
)
def test_backoff_grows_doubles_and_stops_at_the_cap(attempts: int, rand: float, seconds: float) -> None:
    assert decide.backoff(attempts, 30.0, 600.0, lambda: rand).total_seconds() == seconds
