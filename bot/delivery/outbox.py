"""The SQL outbox: how a row goes from queued to sent, and why a crash never sends it twice.

States: queued -> claimed -> sending -> sent | uncertain | failed | skipped (or back to queued
for a retry).

1. claim: a worker takes a batch of due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
   workers never take the same row; SQLite has one writer at a time) and sets them `claimed`
   with its claim token, in one committed transaction. A claimed row has NOT been attempted.
2. mark: the rows about to go out (a small group: the worker marks the next while it sends the
   last, see worker.py) move `claimed` -> `sending` in their own committed transaction, guarded
   by `state = 'claimed' AND claim_token = mine` (RETURNING the ids that moved). Only the rows
   that moved are sent: a worker whose claim was taken back (it was thought dead) sends nothing
   it no longer owns. This is the fence.
3. record: after the call, the outcome is written: sent (+ the platform's message id); skipped;
   failed; queued again with a later `not_before` when the platform's answer proves it did not
   take the message (429, a 5xx it answered itself, a connection that never carried the
   request), within the attempt limit; or `uncertain` when the request may have reached the
   platform and no answer says what became of it (a read timeout, a connection closed after the
   request was written, an answer that cannot be read).

THE RULE FOR A ROW THAT MAY HAVE ARRIVED: it is never sent again automatically. Neither the Bot
API nor the Cloud API lets us ask whether a message went out or pass an idempotency key, so a
second request could send it twice. It ends `uncertain` (status and the dashboard count it apart
from sent and failed); staff may re-send those rows knowingly with
`bpu-bot broadcast resend-uncertain ID`. A row left in `sending` by a crash (the worker died
between 2 and 3) is such a row: recovery marks it `uncertain` with reason `interrupted`. Rows
still `claimed` were never attempted, so recovery puts them back to `queued` and they go out
once. Hence: every row is delivered at most once, and no row that was never attempted is lost.

How many rows a crash can leave uncertain: the requests under way (at most the lane's rate times
their round trip plus the recorder's short batching, and never more than the worker's in-flight
limit) and the rows marked but not yet sent, at most two small groups (each about two mark
commits' worth of the lane's rate: milliseconds of sending). Each holds an in-flight slot
before it is marked, so no row waits marked behind a full connection pool.

Who is dead: on PostgreSQL each worker holds a session advisory lock keyed by its claim token
on a dedicated connection (locks.py); if recovery can take that lock, the owner's session is
gone. On SQLite there is a single delivery process, so at start-up every claim but its own is
from a dead one. Recovery runs at start-up and every few seconds after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.campaign_models import (
    CLAIMED,
    FINISHED,
    INTERRUPTED,
    QUEUED,
    SENDING,
    UNCERTAIN,
    OutboxRow,
)
from storage.clock import as_utc
from storage.models import Contact

_T: Table = OutboxRow.__table__  # type: ignore[assignment]  # a mapped class's table is a Table


async def claim(session: AsyncSession, channel: str, token: int, limit: int, now: datetime) -> list[int]:
    """Take up to `limit` due rows of `channel` for this worker (state claimed)."""
    due = (
        select(OutboxRow.id)
        .where(OutboxRow.channel == channel, OutboxRow.state == QUEUED, OutboxRow.not_before <= now)
        .order_by(OutboxRow.priority, OutboxRow.not_before, OutboxRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # `id = ANY(ARRAY(subquery))`, not `id IN (subquery)`: PostgreSQL plans the IN as a hash
        # semi-join over a sequential scan of the whole outbox (every row ever sent: 43 ms for a
        # claim of 1,000 from 100,000 rows, growing with the table); the array is computed once
        # and the rows are then found by primary key (19 ms, whatever the size of the table).
        chosen = OutboxRow.id == func.any(func.array(due.scalar_subquery()))
    else:  # SQLite: a LIST SUBQUERY, then rowid lookups (EXPLAIN QUERY PLAN)
        chosen = OutboxRow.id.in_(due.scalar_subquery())
    result = await session.execute(
        update(OutboxRow)
        .where(chosen)
        .values(state=CLAIMED, claim_token=token, claimed_at=now)
        .returning(OutboxRow.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars().all())


async def mark_sending(session: AsyncSession, token: int, ids: Sequence[int], now: datetime) -> set[int]:
    """claimed -> sending for the rows this worker still owns; returns those ids (the fence)."""
    if not ids:
        return set()
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.id.in_(list(ids)), OutboxRow.state == CLAIMED, OutboxRow.claim_token == token)
        .values(state=SENDING, claimed_at=now, attempts=OutboxRow.attempts + 1)
        .returning(OutboxRow.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars().all())


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one row. state: sent, uncertain, skipped, failed, queued (retry later)."""

    row_id: int
    state: str
    reason: str | None = None
    error: str | None = None
    platform_message_id: str | None = None
    retry_at: datetime | None = None
    contact_unreachable: int | None = None  # a contact id to mark unreachable
    uncount: bool = False  # a 429: the attempt does not count towards the limit


async def record(session: AsyncSession, token: int, outcomes: Iterable[Outcome], now: datetime) -> None:
    """Write outcomes of rows this worker marked (guarded by its claim token)."""
    params = []
    unreachable: set[int] = set()
    for o in outcomes:
        final = o.state in FINISHED
        params.append(
            {
                "rid": o.row_id,
                "tok": token,
                "new_state": o.state,
                "new_reason": o.reason,
                "new_error": (o.error or None) and o.error[:300],
                "new_pmid": o.platform_message_id,
                "new_not_before": o.retry_at or now,
                "new_finished": now if final else None,
                "new_token": token if final else None,
                "undo": 1 if o.uncount else 0,
            }
        )
        if o.contact_unreachable is not None:
            unreachable.add(o.contact_unreachable)
    if params:
        conn = await session.connection()
        await conn.execute(
            update(_T)
            .where(_T.c.id == bindparam("rid"), _T.c.claim_token == bindparam("tok"))
            .values(
                state=bindparam("new_state"),
                reason=bindparam("new_reason"),
                last_error=bindparam("new_error"),
                platform_message_id=bindparam("new_pmid"),
                not_before=bindparam("new_not_before"),
                finished_at=bindparam("new_finished"),
                claim_token=bindparam("new_token"),
                attempts=_T.c.attempts - bindparam("undo"),
            ),
            params,
        )
    if unreachable:
        await session.execute(
            update(Contact)
            .where(Contact.id.in_(unreachable), Contact.unreachable_at.is_(None))
            .values(unreachable_at=now)
            .execution_options(synchronize_session=False)
        )


async def release(session: AsyncSession, token: int) -> int:
    """Give back claimed (never attempted) rows, e.g. on a clean stop."""
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.state == CLAIMED, OutboxRow.claim_token == token)
        .values(state=QUEUED, claim_token=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def recover(
    session: AsyncSession, mine: int, is_dead: Callable[[int], Awaitable[bool]], now: datetime
) -> tuple[int, int]:
    """Claims of dead workers: claimed -> queued, sending -> uncertain (interrupted). Returns both counts."""
    tokens = (
        await session.scalars(
            select(OutboxRow.claim_token)
            .where(OutboxRow.state.in_((CLAIMED, SENDING)), OutboxRow.claim_token != mine)
            .distinct()
        )
    ).all()
    requeued = uncertain = 0
    for token in tokens:
        if token is None or not await is_dead(token):
            continue
        r1 = await session.execute(
            update(OutboxRow)
            .where(OutboxRow.state == CLAIMED, OutboxRow.claim_token == token)
            .values(state=QUEUED, claim_token=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        # The token stays on an uncertain row: if its owner was alive after all, its record wins.
        r2 = await session.execute(
            update(OutboxRow)
            .where(OutboxRow.state == SENDING, OutboxRow.claim_token == token)
            .values(state=UNCERTAIN, reason=INTERRUPTED, last_error="worker stopped mid-send")
            .values(finished_at=now)
            .execution_options(synchronize_session=False)
        )
        requeued += int(r1.rowcount or 0)  # type: ignore[attr-defined]
        uncertain += int(r2.rowcount or 0)  # type: ignore[attr-defined]
    return requeued, uncertain


async def backlog(session: AsyncSession, now: datetime) -> dict[str, object]:
    """For /healthz: rows waiting to go out now, and the age of the oldest (seconds)."""
    waiting = (OutboxRow.state.in_((QUEUED, CLAIMED)), OutboxRow.not_before <= now)
    count, oldest = (await session.execute(select(func.count(), func.min(OutboxRow.not_before)).where(*waiting))).one()
    deferred = await session.scalar(select(func.count()).where(OutboxRow.state == QUEUED, OutboxRow.not_before > now))
    age = None
    if oldest is not None:
        age = max(0.0, round((now - as_utc(oldest)).total_seconds(), 1))
    return {"queued": int(count or 0), "deferred": int(deferred or 0), "oldest_queued_age_seconds": age}
