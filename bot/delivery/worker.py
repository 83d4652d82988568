"""The delivery worker: one lane per channel, claiming outbox rows and pacing them out.

Every `bpu-bot run` process may run a worker (they share the outbox through SQL; see outbox.py
for the claim protocol and the rule for rows left in `sending`). A lane:

    claim a batch (claimed) -> check each row again (opted out, unreachable, cancelled, paid,
    quiet hours, WhatsApp window without template) -> a small group (about two mark commits'
    worth of the lane's rate) gets in-flight slots and is marked `sending` (one commit) -> the
    sender takes each row's token right before its request -> a recorder commits the outcomes.

The lane marks the next group while the sender works through the last one, and never more
than that: the rows `sending` at any moment are those under way and at most two small groups
about to go, so a crash leaves only those `uncertain`; rows merely claimed go back to the
queue (outbox.py). The token is taken last, so the pacer logs the time the platform sees.

Pacing (ratelimit.py): the channel's rate minus BROADCAST_HEADROOM, shared by the live workers
(PostgreSQL: counted by their liveness locks), never above it in any one-second window; one
message per chat per second on Telegram. A 429 pauses the whole lane for the time asked, and
the row goes back to the queue without counting as an attempt, so a 429 storm loses nothing.
The platform's own 5xx and connections that never carried the request are retried with
exponential back-off and full jitter up to BPU_DELIVERY_MAX_ATTEMPTS; a send that may have
arrived (a late or unreadable answer) is `uncertain` and never retried (each channel's bulk.py). A blocked
user (403) or a number not on WhatsApp marks the contact unreachable, with no retry.

Replies to live conversations never pass through here: the channels send them at once, on
their own connections; the headroom is what keeps the platform's limit free for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.channels import registry
from bot.channels.base import BulkSender
from bot.channels.outcomes import FAILED as S_FAILED
from bot.channels.outcomes import OK, RETRY, Job, Result
from bot.channels.outcomes import UNCERTAIN as S_UNCERTAIN
from bot.delivery import decide, digest, handover, outbox
from bot.delivery import reminders as rem
from bot.delivery.health import DATABASE, PLATFORM, LaneHealth
from bot.delivery.ratelimit import ChatSpacing, Pacer
from bot.delivery.settings import DeliverySettings
from content.render import Renderer
from handlers.due_dates import contact_zone
from handlers.messages import Button
from storage.campaign_models import (
    CANCELLED,
    FAILED,
    QUEUED,
    SENT,
    SKIPPED,
    UNCERTAIN,
    Broadcast,
    OutboxRow,
    Reminder,
    ReminderPayment,
)
from storage.clock import utcnow
from storage.db import Database
from storage.models import Contact, Lead

log = logging.getLogger(__name__)

# Rows marked or under way at once, per lane: the bound on what a crash can leave `uncertain`
# when the rate is unlimited. Two groups: one is marked while the one before is under way.
MAX_GROUP = 100  # rows marked in one commit when the rate is unlimited (the Bot API sender's pool)
MAX_INFLIGHT = 2 * MAX_GROUP


@dataclass
class LaneStats:
    sent: int = 0
    skipped: int = 0
    uncertain: int = 0  # may have arrived: not sent again
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0  # 429s received
    deferred: int = 0
    inflight: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        senders: dict[str, BulkSender],
        *,
        settings: DeliverySettings | None = None,
        renderer: Renderer | None = None,
        quiet: tuple[int, int] = (21, 7),
        default_tz: str = "Asia/Jakarta",
        liveness: Any = None,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 200,
        poll: float = 0.5,
        rand: Callable[[], float] = random.random,
        rates: dict[str, float | None] | None = None,
    ) -> None:
        from bot.delivery.locks import Liveness

        self.db = db
        self.senders = senders
        self.settings = settings or DeliverySettings()
        self.renderer = renderer or Renderer()
        self.quiet = quiet
        self.default_tz = default_tz
        self.liveness = liveness or Liveness(db.url)
        self.clock = clock
        self.batch = batch
        self.poll = poll
        self.rand = rand
        given = rates or {}  # per channel, overriding the settings (None: unlimited)
        paces = {ch: registry.pacing(self.settings, ch) for ch in senders}  # each channel's own limits
        self._rates = {ch: given[ch] if ch in given else paces[ch].per_second for ch in senders}
        self.pacers = {ch: Pacer(self._rates[ch]) for ch in senders}
        self.spacings = {ch: ChatSpacing(paces[ch].per_chat_seconds) for ch in senders}
        self.stats = {ch: LaneStats() for ch in senders}
        self.lane_health = {ch: LaneHealth() for ch in senders}  # for /healthz (health.py)
        self._wake = asyncio.Event()
        self._halt = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._results: dict[str, asyncio.Queue[outbox.Outcome]] = {ch: asyncio.Queue() for ch in senders}
        self._inflight: dict[str, set[asyncio.Task[None]]] = {ch: set() for ch in senders}
        self._pending: dict[str, deque[Job]] = {ch: deque() for ch in senders}
        self._to_send: dict[str, deque[Job]] = {ch: deque() for ch in senders}  # marked, token not taken
        self._send_wake = {ch: asyncio.Event() for ch in senders}  # rows to send, or stopping
        self._taken = {ch: asyncio.Event() for ch in senders}  # the sender took a row: room to mark
        self._commit_seconds = dict.fromkeys(senders, 0.005)  # a mark commit's duration (moving average)
        self._lanes_stopped = False
        self._slots = {ch: asyncio.Semaphore(MAX_INFLIGHT) for ch in senders}
        self._texts: dict[tuple[int, str, str], tuple[str, tuple[Button, ...], tuple[str, ...]]] = {}
        self.running = False
        self._recording = 0
        for sender in senders.values():
            sender.set_send_timeout(self.settings.delivery_send_timeout)

    @property
    def token(self) -> int:
        return int(self.liveness.token)

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        await self.liveness.start()
        await self.recover()
        await self._share_rate()
        self._stopping = False
        self._lanes_stopped = False
        self._halt.clear()
        self.running = True
        for channel in self.senders:
            self._tasks.append(asyncio.create_task(self._lane(channel), name=f"delivery-lane-{channel}"))
            self._tasks.append(asyncio.create_task(self._sender(channel), name=f"delivery-send-{channel}"))
            self._tasks.append(asyncio.create_task(self._recorder(channel), name=f"delivery-rec-{channel}"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="delivery-housekeeping"))

    async def stop(self) -> None:
        """Stop claiming, finish what is in flight, record it, give back what was not attempted."""
        if not self.running:
            return
        self._stopping = True
        self._wake.set()
        for prefix in ("delivery-lane", "delivery-send"):  # nothing more is marked; what is, is sent
            tasks = [t for t in self._tasks if t.get_name().startswith(prefix)]
            self._lanes_stopped = prefix == "delivery-send"
            for channel in self.senders:
                self._send_wake[channel].set()
                self._taken[channel].set()
            if tasks:  # each stops at its next loop: never cancelled inside a transaction
                _, late = await asyncio.wait(tasks, timeout=10)
                for task in late:
                    task.cancel()
        for channel in self.senders:
            if self._inflight[channel]:
                await asyncio.gather(*list(self._inflight[channel]), return_exceptions=True)
            self._results[channel].put_nowait(None)  # type: ignore[arg-type]  # the recorder's last item
        self._halt.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for channel in self.senders:
            await self._flush(channel)
        try:
            async with self.db.session() as session:
                await outbox.release(session, self.token)
        except Exception:
            log.exception("delivery: could not give back claimed rows (recovery will)")
        for sender in self.senders.values():
            with contextlib.suppress(Exception):
                await sender.close()
        await self.liveness.close()
        self.running = False

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def recover(self) -> tuple[int, int]:
        async with self.db.session() as session:
            found = await outbox.recover(session, self.token, self.liveness.is_dead, self.clock())
        requeued, uncertain = found
        if requeued or uncertain:
            log.warning(
                "delivery: recovered a stopped worker's rows: %d back in the queue, %d uncertain"
                " (stopped mid-send: may have arrived, not sent again; see bot/delivery/outbox.py)",
                requeued, uncertain,
            )  # fmt: skip
        return requeued, uncertain

    async def idle(self, horizon: float = 120.0) -> bool:
        """Nothing in flight and nothing due within `horizon` seconds (retries included; quiet-hours
        deferrals are further away). For tests and the benchmark."""
        if any(
            self._inflight[ch] or self._pending[ch] or self._to_send[ch] or not self._results[ch].empty()
            for ch in self.senders
        ):
            return False
        if self._recording:
            return False
        from sqlalchemy import func

        from storage.campaign_models import CLAIMED, SENDING

        async with self.db.session() as session:
            n = await session.scalar(
                select(func.count()).where(
                    OutboxRow.channel.in_(list(self.senders)),
                    OutboxRow.state.in_((QUEUED, CLAIMED, SENDING)),
                    OutboxRow.not_before <= self.clock() + timedelta(seconds=horizon),
                )
            )
        return not n

    async def run_until_idle(self, timeout: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await self.idle():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the outbox did not drain")
            self.wake()
            await asyncio.sleep(0.05)

    # -- the lane -----------------------------------------------------------------------

    async def _lane(self, channel: str) -> None:
        pending = self._pending[channel]
        while not self._stopping:
            try:
                if not pending:
                    jobs = await self._claim(channel)
                    if not jobs:
                        self.lane_health[channel].success(self.clock(), DATABASE)  # claims work; nothing is due
                        await self._idle_wait()
                        continue
                    pending.extend(jobs)
                await self._mark_group(channel, pending)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._lane_error(channel, exc, DATABASE)
                await asyncio.sleep(1.0)

    def _lane_error(self, channel: str, exc: BaseException | str, kind: str) -> None:
        """Count an error of the lane; say it once a minute (with how many), not once per claim."""
        lane = self.lane_health[channel]
        cause = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        if lane.error(self.clock(), cause, kind):
            since = lane.failing_since.isoformat() if lane.failing_since else "now"
            log.error("delivery lane %s failing since %s (%d errors since last said): %s",
                      channel, since, lane.take_unlogged(), cause, exc_info=not isinstance(exc, str))  # fmt: skip

    async def _idle_wait(self) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.poll)

    def group_size(self, channel: str) -> int:
        """Rows marked in one commit: enough for the sender to go on at the lane's rate through
        two commits, few enough that a crash leaves few uncertain (outbox.py)."""
        rate = self.pacers[channel].rate
        if rate is None:
            return MAX_GROUP
        return max(1, min(MAX_GROUP, math.ceil(rate * 2 * self._commit_seconds[channel])))

    async def _mark_group(self, channel: str, pending: deque[Job]) -> None:
        """The next rows get a slot each and are marked `sending` in one commit, for the sender."""
        to_send, taken, slots = self._to_send[channel], self._taken[channel], self._slots[channel]
        size = self.group_size(channel)
        while len(to_send) >= size and not self._stopping:  # the last group is not under way yet
            taken.clear()
            await taken.wait()
        group = await self._take_slots(channel, pending, size)
        if not group:
            return
        await self.pacers[channel].ready()  # not paused by a 429, a token near: mark only now
        if self._stopping:  # never marked: stays claimed and is given back
            for _ in group:
                slots.release()
            pending.extendleft(reversed(group))
            return
        started = time.monotonic()
        try:
            ids = [j.row_id for j in group]
            async with self.db.session() as session:
                marked = await outbox.mark_sending(session, self.token, ids, self.clock())
        except Exception:
            for _ in group:
                slots.release()
            pending.extendleft(reversed(group))
            raise
        spent = time.monotonic() - started
        self._commit_seconds[channel] = 0.8 * self._commit_seconds[channel] + 0.2 * spent
        for job in group:
            if job.row_id not in marked:  # no longer ours (taken back by recovery or cancelled): the fence
                slots.release()
                continue
            self.spacings[channel].sent(job.external_id)
            to_send.append(job)
        self._send_wake[channel].set()

    async def _take_slots(self, channel: str, pending: deque[Job], size: int) -> list[Job]:
        """Up to `size` rows whose chat may have a message now, each holding an in-flight slot
        (waiting for the first only: with none free, a group is what is free)."""
        slots, spacing = self._slots[channel], self.spacings[channel]
        group: list[Job] = []
        while pending and len(group) < size:
            if group and slots.locked():
                break
            job = pending.popleft()
            wait = spacing.ready_in(job.external_id)
            if wait > 0:  # this chat had a message less than a second ago: later, not now
                self.stats[channel].deferred += 1
                retry_at = self.clock() + timedelta(seconds=wait)
                self._results[channel].put_nowait(outbox.Outcome(job.row_id, QUEUED, retry_at=retry_at))
                continue
            await slots.acquire()
            group.append(job)
        return group

    async def _sender(self, channel: str) -> None:
        """Each marked row takes its token, then its request goes out (the token is taken last:
        the time the pacer logs is the time the platform sees)."""
        to_send, wake, taken = self._to_send[channel], self._send_wake[channel], self._taken[channel]
        pacer = self.pacers[channel]
        while True:
            if not to_send:
                if self._lanes_stopped:
                    return
                wake.clear()
                await wake.wait()
                continue
            await pacer.acquire()
            job = to_send.popleft()
            taken.set()
            task = asyncio.create_task(self._send(channel, job))
            self._inflight[channel].add(task)
            task.add_done_callback(self._inflight[channel].discard)

    async def _send(self, channel: str, job: Job) -> None:
        stats = self.stats[channel]
        stats.inflight += 1
        try:
            try:
                result = await self.senders[channel].send(job)
            except Exception as exc:  # a bug or an unexpected library error, at an unknown point of the send
                log.exception("delivery: sending row %s failed unexpectedly", job.row_id)
                result = Result(S_UNCERTAIN, error=f"{type(exc).__name__}: {exc}")
            self._results[channel].put_nowait(self._outcome(channel, job, result))
        finally:
            stats.inflight -= 1
            self._slots[channel].release()

    def _outcome(self, channel: str, job: Job, result: Result) -> outbox.Outcome:
        stats, now = self.stats[channel], self.clock()
        self._judge(channel, result)
        settings = self.settings
        verdict = decide.classify(
            result,
            job.attempts,
            settings.max_attempts,
            lambda n: decide.backoff(n, settings.retry_base_seconds, settings.retry_max_seconds, self.rand),
        )
        counter = {SENT: "sent", SKIPPED: "skipped", UNCERTAIN: "uncertain", FAILED: "failed"}.get(verdict.state)
        if verdict.reason == decide.RATE_LIMITED:
            counter = "rate_limited"
            self.pacers[channel].pause(verdict.pause or 0.0)
            self.spacings[channel].forget(job.external_id)
        elif verdict.reason == decide.RETRYING:
            counter = "retried"
        if counter:
            setattr(stats, counter, getattr(stats, counter) + 1)
        return outbox.Outcome(
            job.row_id,
            verdict.state,
            verdict.reason,
            result.error,
            platform_message_id=result.platform_message_id if verdict.state == SENT else None,
            retry_at=now + verdict.retry_in if verdict.retry_in is not None else None,
            contact_unreachable=job.contact_id if verdict.contact_unreachable else None,
            uncount=verdict.uncount,
        )

    def _judge(self, channel: str, result: Result) -> None:
        """A send says whether the lane works: one that went out does; a refusal that is not about
        the recipient (a 5xx, a timeout, a bad token) does not. 429s and blocked users say nothing."""
        if result.outcome == OK:
            self.lane_health[channel].success(self.clock(), PLATFORM)
        elif result.outcome in (RETRY, S_UNCERTAIN, S_FAILED) and not result.rate_limited:
            self._lane_error(channel, f"send: {result.error or result.outcome}", PLATFORM)

    async def _recorder(self, channel: str) -> None:
        queue = self._results[channel]
        while True:
            first = await queue.get()
            if first is None:
                return
            self._recording += 1
            last = False
            try:
                await asyncio.sleep(0.02)  # let a few more arrive: one commit for many outcomes
                batch = [first]
                while not queue.empty() and len(batch) < 1000:
                    item = queue.get_nowait()
                    if item is None:
                        last = True
                        break
                    batch.append(item)
                await self._write(batch)
            finally:
                self._recording -= 1
            if last:
                return

    async def _flush(self, channel: str) -> None:
        queue = self._results[channel]
        batch = []
        while not queue.empty():
            batch.append(queue.get_nowait())
        if batch:
            await self._write(batch)

    async def _write(self, batch: list[outbox.Outcome]) -> None:
        for attempt in range(5):
            try:
                async with self.db.session() as session:
                    await outbox.record(session, self.token, batch, self.clock())
                return
            except Exception:
                log.exception("delivery: could not record %d outcomes (attempt %d)", len(batch), attempt + 1)
                await asyncio.sleep(0.5 * (attempt + 1))
        log.error("delivery: %d outcomes not recorded; their rows stay `sending`, then uncertain", len(batch))

    async def _housekeeping(self) -> None:
        n = 0
        while not self._halt.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._halt.wait(), 2.0)
                return
            n += 1
            try:
                if not await self.liveness.keep():
                    log.error("delivery: liveness lock lost; claims may be taken back (the fence keeps sends single)")
                await self._share_rate()
                if n % 5 == 0:
                    await self.recover()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery housekeeping failed")

    async def _share_rate(self) -> None:
        workers = await self.liveness.live_workers()
        for channel, pacer in self.pacers.items():
            rate = self._rates[channel]
            share = None if rate is None else rate / workers
            if pacer.rate != share:
                pacer.set_rate(share)

    # -- claiming and checking ----------------------------------------------------------

    async def _claim(self, channel: str) -> list[Job]:
        now = self.clock()
        async with self.db.session() as session:
            ids = await outbox.claim(session, channel, self.token, self.batch, now)
            if not ids:
                return []
            # Core rows, not ORM objects: this runs for every message of a broadcast.
            rows = (
                await session.execute(
                    select(*_ROW_COLS, *_CONTACT_COLS)
                    .join_from(_OUT, _CON, _CON.c.id == _OUT.c.contact_id)
                    .where(_OUT.c.id.in_(ids))
                    .order_by(_OUT.c.priority, _OUT.c.not_before, _OUT.c.id)
                )
            ).all()
            context = await self._context(session, rows)
            jobs: list[Job] = []
            outcomes: list[outbox.Outcome] = []
            for row in rows:
                contact = _ContactView(*row[len(_ROW_COLS) :])
                decision = self._check(channel, row, contact, context, now)
                if isinstance(decision, Job):
                    jobs.append(decision)
                else:
                    outcomes.append(decision)
                    if decision.state == SKIPPED:
                        self.stats[channel].skipped += 1
                    else:
                        self.stats[channel].deferred += 1
            await outbox.record(session, self.token, outcomes, now)
        return jobs

    async def _context(self, session: Any, rows: Any) -> dict[str, Any]:
        b_ids = {r.broadcast_id for r in rows if r.broadcast_id is not None}
        r_ids = {r.reminder_id for r in rows if r.reminder_id is not None}
        broadcasts = (
            {b.id: b for b in (await session.scalars(select(Broadcast).where(Broadcast.id.in_(b_ids)))).all()}
            if b_ids
            else {}
        )
        reminders: dict[int, Reminder] = {}
        paid: set[tuple[int, str]] = set()
        leads: dict[int, Lead] = {}
        if r_ids:
            reminders = {r.id: r for r in (await session.scalars(select(Reminder).where(Reminder.id.in_(r_ids)))).all()}
            paid = {
                (p.reminder_id, p.period)
                for p in (
                    await session.scalars(select(ReminderPayment).where(ReminderPayment.reminder_id.in_(r_ids)))
                ).all()
            }
            contact_ids = {r.contact_id for r in rows if r.reminder_id is not None}
            for lead in (
                await session.scalars(select(Lead).where(Lead.contact_id.in_(contact_ids)).order_by(Lead.id))
            ).all():
                leads[lead.contact_id] = lead  # the latest lead wins
        handovers = await handover.load(session, rows) if any(r.kind in handover.KINDS for r in rows) else None
        return {"broadcasts": broadcasts, "reminders": reminders, "paid": paid, "leads": leads, "handover": handovers}

    def _check(self, channel: str, row: Any, contact: Any, ctx: dict[str, Any], now: datetime) -> Job | outbox.Outcome:
        """`row`: the outbox columns of _ROW_COLS; `contact`: a _ContactView."""
        broadcast: Broadcast | None = ctx["broadcasts"].get(row.broadcast_id) if row.broadcast_id else None
        reminder = ctx["reminders"].get(row.reminder_id) if row.reminder_id is not None else None
        zone = contact_zone(contact.timezone, contact.region_code, self.default_tz)
        purpose = row.kind
        sender = self.senders[channel]
        in_window = sender.in_window(contact, now)  # WhatsApp's 24-hour window; always elsewhere
        facts = decide.Facts(
            kind=row.kind,
            broadcast_status=broadcast.status if broadcast is not None else None,
            quiet_policy=broadcast.quiet_policy if broadcast is not None else None,
            reminder_active=(reminder is not None and reminder.active) if row.reminder_id is not None else None,
            paid_for_due_month=(row.reminder_id, str(row.payload.get("due", ""))[:7]) in ctx["paid"],
            opted_out=contact.opted_out_at is not None,
            unreachable=contact.unreachable_at is not None,
            zone=zone,
            whatsapp_out_of_window=not in_window,
            has_template=in_window or sender.has_template(purpose),
            asked_for=row.kind == handover.KIND_REPLY,
            in_conversation=handover.in_conversation(row.kind, contact.last_inbound_at, now),
        )
        held = decide.hold(facts, now, self.quiet)
        if held is not None:
            return outbox.Outcome(row.id, held.state, held.reason, retry_at=held.until)
        lang = contact.language if contact.language in ("id", "en") else "id"
        if broadcast is not None:
            text, buttons, variables = self._broadcast_text(broadcast, lang, channel)
        elif row.kind == digest.KIND_DIGEST:
            text, buttons, variables = digest.render(self.renderer, lang, row.payload)
        elif row.kind in handover.KINDS:
            rendered = handover.render(self.renderer, lang, row.kind, row.payload, ctx["handover"])
            if rendered is None:  # the request went with the worker's data, or the entry is gone
                return outbox.Outcome(row.id, SKIPPED, CANCELLED)
            text, buttons, variables = rendered
        else:
            today = now.astimezone(zone).date()
            text, buttons, variables = rem.render(self.renderer, lang, row.payload, ctx["leads"].get(contact.id), today)
        return Job(
            row_id=row.id,
            contact_id=contact.id,
            channel=channel,
            external_id=contact.external_id,
            purpose=purpose,
            text=text,
            buttons=buttons,
            variables=variables,
            in_window=in_window,
            attempts=row.attempts,
        )

    def _broadcast_text(self, b: Broadcast, lang: str, channel: str) -> tuple[str, tuple[Button, ...], tuple[str, ...]]:
        key = (b.id, lang, channel)  # each channel's message carries its own campaign link
        cached = self._texts.get(key)
        if cached is None:
            from handlers.broadcasts import render_broadcast

            today = _today(self.clock(), self.default_tz)
            cached = render_broadcast(self.renderer, b, lang, today=today, channel=channel)
            if len(self._texts) > 1000:
                self._texts.clear()
            self._texts[key] = cached
        return cached


_OUT = OutboxRow.__table__
_CON = Contact.__table__
_ROW_FIELDS = ("id", "kind", "broadcast_id", "reminder_id", "contact_id", "payload", "attempts")
_ROW_COLS = tuple(_OUT.c[name] for name in _ROW_FIELDS)
_CONTACT_FIELDS = (
    "id", "external_id", "language", "timezone", "region_code", "opted_out_at", "unreachable_at", "last_inbound_at",
)  # fmt: skip
# Labelled apart from the outbox's own columns: `contact_id` is one of them (a label of the
# same name made every claim of a reminder fail with "Ambiguous column name").
_CONTACT_COLS = tuple(_CON.c[name].label(f"c_{name}") for name in _CONTACT_FIELDS)


@dataclass(frozen=True, slots=True)
class _ContactView:
    """What the checks read of a contact (a Core row's columns, not an ORM object)."""

    id: int
    external_id: str
    language: str | None
    timezone: str | None
    region_code: str | None
    opted_out_at: datetime | None
    unreachable_at: datetime | None
    last_inbound_at: datetime | None


def _today(now: datetime, tz: str) -> date:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(tz)).date()
