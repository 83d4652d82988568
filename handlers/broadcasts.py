"""Broadcasts: segments, the preview staff confirm, creation, fan-out into the outbox, status.

A segment is `key=value` pairs: `area=3673` (kabupaten/kota, 4 digits, or kecamatan, 6; several
as a comma list, `area=3673,360101`, any of them), `occupation=transport` (every transport
occupation) or an occupation code, `status=new` (the lead's status), `language=id`,
`rsvp=12:yes` (who answered "Hadir" to broadcast 12: a reminder to those who said they will
come). Conditions on the lead (occupation, status) need a lead; the area matches the lead's codes
or the contact's own region. Only Telegram and WhatsApp contacts can be reached.

A broadcast carries its campaign's link (issue 16, item 7): `links` holds, per channel, the
Telegram deep link (`t.me/<bot>?start=CODE`) or the WhatsApp click-to-chat link whose text ends
with `Kode: CODE`; `render_broadcast(..., channel=...)` adds that channel's link under the text,
so a worker who taps it and then leaves their details is counted as the campaign's lead.

Fan-out is one INSERT ... SELECT ... ON CONFLICT DO NOTHING in the same transaction as the
broadcast's move to `sending`: a crash before the commit leaves nothing, after it leaves every
row; a second fan-out adds nothing. WhatsApp recipients outside the 24-hour window count against
Meta's daily limit of unique business-initiated recipients (WHATSAPP_DAILY_LIMIT, minus what was
sent in the last 24 hours): those beyond it wait for the following days (`not_before`), so a
large broadcast is spread rather than failing halfway.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from content.render import Renderer
from handlers import links, occupations
from handlers.messages import Button
from storage import scope
from storage.campaign_models import (
    CANCELLED,
    CLAIMED,
    DAILY_LIMIT,
    FAILED,
    FINISHED,
    KIND_BROADCAST,
    OPTED_OUT,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    UNCERTAIN,
    UNREACHABLE,
    Broadcast,
    OutboxRow,
    RsvpAnswer,
)
from storage.models import LEAD_STATUSES, Contact, Lead

SEGMENT_KEYS = ("area", "occupation", "status", "language", "rsvp")
RSVP_ANSWERS = ("yes", "no")


# WhatsApp's customer-service window: a business-initiated message outside it needs a template.
WINDOW = timedelta(hours=24)


class SegmentError(ValueError):
    pass


def parse_segment(text: str | None) -> dict[str, str]:
    """`area=3673,360101,occupation=transport,status=new` -> a checked dict (areas joined by commas)."""
    segment: dict[str, str] = {}
    last = ""
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep and last == "area":  # the next code of an area list
            key, value = "area", part
        key, value = key.strip().lower(), value.strip()
        if not sep and key != "area" or not value:
            raise SegmentError(f"expected key=value, got {part.strip()!r}")
        if key not in SEGMENT_KEYS:
            raise SegmentError(f"unknown segment key {key!r}; use {', '.join(SEGMENT_KEYS)}")
        last = key
        if key == "area":
            if not (value.isdigit() and len(value) in (4, 6)):
                raise SegmentError("area is a kabupaten/kota code (4 digits) or kecamatan code (6 digits)")
            known = [a for a in segment.get("area", "").split(",") if a]
            if value not in known:
                known.append(value)
            segment["area"] = ",".join(known)
            continue
        if key == "status" and value not in LEAD_STATUSES:
            raise SegmentError(f"status is one of {', '.join(LEAD_STATUSES)}")
        if key == "language" and value not in ("id", "en"):
            raise SegmentError("language is id or en")
        if key == "occupation" and value != "transport" and value not in _occupation_codes():
            raise SegmentError(
                f"unknown occupation {value!r}; use transport or one of {', '.join(_occupation_codes())}"
            )
        if key == "rsvp":
            bid, _, answer = value.partition(":")
            answer = answer or "yes"
            if not bid.isdigit() or answer not in RSVP_ANSWERS:
                raise SegmentError("rsvp is <broadcast id>:yes or <broadcast id>:no")
            value = f"{int(bid)}:{answer}"
        segment[key] = value
    return segment


def segment_areas(segment: dict[str, Any]) -> list[str]:
    return [a for a in str(segment.get("area") or "").split(",") if a]


def rsvp_of(segment: dict[str, Any]) -> tuple[int, str] | None:
    """(broadcast id, answer) of an `rsvp=` segment."""
    bid, _, answer = str(segment.get("rsvp") or "").partition(":")
    return (int(bid), answer or "yes") if bid.isdigit() else None


def _occupation_codes() -> list[str]:
    return [str(c["key"]) for c in occupations.categories()]


def parse_channels(text: str | Sequence[str] | None, allowed: Sequence[str]) -> list[str]:
    """The channels asked for, each one of `allowed` (the channels that send in bulk, from
    bot/channels/registry.py, handed down: handlers know no channel); none asked: all of them."""
    if not text:
        return list(allowed)
    items = text.split(",") if isinstance(text, str) else list(text)
    chosen = [c.strip().lower() for c in items if c.strip()]
    for c in chosen:
        if c not in allowed:
            raise SegmentError(f"channel is one of {', '.join(allowed)}")
    return chosen


def recipients_condition(segment: dict[str, str], channels: Sequence[str]) -> Any:
    """The WHERE clause over contacts for a segment."""
    conds: list[Any] = [Contact.channel.in_(list(channels))]
    lead_conds: list[Any] = [Lead.contact_id == Contact.id]
    areas = segment_areas(segment)
    if segment.get("occupation"):
        occ = segment["occupation"]
        lead_conds.append(Lead.is_transport.is_(True) if occ == "transport" else Lead.occupation == occ)
    if segment.get("status"):
        lead_conds.append(Lead.status == segment["status"])
    if segment.get("language"):
        conds.append(Contact.language == segment["language"])
    rsvp = rsvp_of(segment)
    if rsvp is not None:
        conds.append(
            exists().where(
                RsvpAnswer.contact_id == Contact.id, RsvpAnswer.broadcast_id == rsvp[0], RsvpAnswer.answer == rsvp[1]
            )
        )
    if areas:
        lead_area = scope.leads_in(areas)
        if len(lead_conds) > 1:  # a lead is required anyway: its area decides
            lead_conds.append(lead_area)
        else:
            conds.append(
                or_(
                    scope.kecamatan_in(Contact.region_code, areas),
                    exists().where(Lead.contact_id == Contact.id, lead_area),
                )
            )
    if len(lead_conds) > 1:
        conds.append(exists().where(and_(*lead_conds)))
    return and_(*conds)


def campaign_links(code: str, *, telegram_username: str | None, whatsapp_number: str | None) -> dict[str, str]:
    """The link each channel's message carries: the Telegram deep link, the WhatsApp click-to-chat."""
    found = {
        "telegram": links.telegram_link(telegram_username, code),
        "whatsapp": links.whatsapp_link(whatsapp_number, code),
    }
    return {channel: url for channel, url in found.items() if url}


def auto_code(broadcast_id: int) -> str:
    """The campaign code of a broadcast created without one."""
    return f"kampanye-{broadcast_id}"


def render_broadcast(
    renderer: Renderer, b: Broadcast, lang: str, *, today: date | None = None, channel: str | None = None
) -> tuple[str, tuple[Button, ...], tuple[str, ...]]:
    """Text (one message), RSVP buttons and WhatsApp template variables of a broadcast; with a
    `channel`, the campaign's link for that channel under the text."""
    if b.text:
        text = b.text
    else:
        assert b.template
        context: dict[str, Any] = {k: _value(v) for k, v in (b.variables or {}).items()}
        if today is not None:
            context["today"] = today
        text = renderer.render(b.template, lang, **context)
    buttons: tuple[Button, ...] = ()
    if b.rsvp:
        buttons = (
            Button(renderer.label("rsvp_yes", lang), f"rsvp:{b.id}:yes"),
            Button(renderer.label("rsvp_no", lang), f"rsvp:{b.id}:no"),
        )
    variables = tuple(str(v) for v in (b.variables or {}).values()) or (text.split("\n", 1)[0][:900],)
    link = (getattr(b, "links", None) or {}).get(channel or "")
    if link:
        text = f"{text}\n\n{renderer.label('campaign_link', lang)} {link}"
    return text, buttons, variables


def _value(v: Any) -> Any:
    """Template variables from JSON: ISO dates become dates (so `| tanggal` works)."""
    if isinstance(v, str) and len(v) == 10 and v[4] == "-" and v[7] == "-":
        try:
            return date.fromisoformat(v)
        except ValueError:
            return v
    return v


@dataclass
class Preview:
    total: int
    by_channel: dict[str, int]
    reachable: int
    opted_out: int
    unreachable: int
    whatsapp_outside_window: int = 0
    whatsapp_daily_limit: int = 0  # 0: unlimited
    whatsapp_used_24h: int = 0
    whatsapp_days: int = 1
    texts: dict[str, str] = field(default_factory=dict)  # language -> rendered text
    buttons: list[str] = field(default_factory=list)

    @property
    def whatsapp_share(self) -> float | None:
        """The fraction of today's WhatsApp limit this broadcast uses (None: unlimited)."""
        if not self.whatsapp_daily_limit:
            return None
        return self.whatsapp_outside_window / self.whatsapp_daily_limit

    def lines(self) -> list[str]:
        out = [f"recipients: {self.total} ({', '.join(f'{k} {v}' for k, v in self.by_channel.items()) or 'none'})"]
        out.append(
            f"  will be sent: {self.reachable}; skipped: opted out {self.opted_out}, unreachable {self.unreachable}"
        )
        if self.by_channel.get("whatsapp"):
            if self.whatsapp_daily_limit:
                left = max(0, self.whatsapp_daily_limit - self.whatsapp_used_24h)
                out.append(
                    f"  WhatsApp: {self.whatsapp_outside_window} outside the 24-hour window need the template and count"
                    f" against the daily limit of {self.whatsapp_daily_limit} unique recipients"
                    f" ({self.whatsapp_used_24h} used in the last 24 h, {left} left today):"
                    f" {100 * (self.whatsapp_share or 0):.0f}% of a day's limit"
                )
                if self.whatsapp_days > 1:
                    out.append(f"  spread over {self.whatsapp_days} days instead of failing halfway")
            else:
                out.append(f"  WhatsApp: {self.whatsapp_outside_window} outside the 24-hour window (unlimited tier)")
        return out


async def _whatsapp_used_24h(session: AsyncSession, now: datetime) -> int:
    """Unique WhatsApp recipients of bulk messages in the last 24 hours (the moving window); an
    uncertain send counts, as it may have arrived."""
    n = await session.scalar(
        select(func.count(func.distinct(OutboxRow.contact_id))).where(
            OutboxRow.channel == "whatsapp",
            OutboxRow.state.in_((SENT, UNCERTAIN)),
            OutboxRow.finished_at > now - timedelta(hours=24),
        )
    )
    return int(n or 0)


async def preview(
    session: AsyncSession,
    renderer: Renderer,
    *,
    segment: dict[str, str],
    channels: Sequence[str],
    template: str | None,
    text: str | None,
    variables: dict[str, Any] | None = None,
    rsvp: bool = False,
    now: datetime,
    daily_limit: int,
) -> Preview:
    cond = recipients_condition(segment, channels)
    window_start = now - WINDOW
    rows = (
        await session.execute(
            select(
                Contact.channel,
                func.count(),
                func.sum(case((Contact.opted_out_at.is_not(None), 1), else_=0)),
                func.sum(case((and_(Contact.opted_out_at.is_(None), Contact.unreachable_at.is_not(None)), 1), else_=0)),
                func.sum(
                    case(
                        (
                            and_(
                                Contact.opted_out_at.is_(None),
                                Contact.unreachable_at.is_(None),
                                or_(Contact.last_inbound_at.is_(None), Contact.last_inbound_at < window_start),
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
            )
            .where(cond)
            .group_by(Contact.channel)
        )
    ).all()
    by_channel = {ch: int(n) for ch, n, *_ in rows}
    opted = sum(int(o or 0) for _, _, o, _, _ in rows)
    unreach = sum(int(u or 0) for _, _, _, u, _ in rows)
    outside = sum(int(w or 0) for ch, _, _, _, w in rows if ch == "whatsapp")
    total = sum(by_channel.values())
    used = await _whatsapp_used_24h(session, now) if by_channel.get("whatsapp") else 0
    days = _days_needed(outside, daily_limit, used)
    draft = Broadcast(id=0, template=template, text=text, variables=variables or {}, rsvp=rsvp)
    texts = {}
    buttons: list[str] = []
    for lang in ("id", "en"):
        body, btns, _ = render_broadcast(renderer, draft, lang)
        texts[lang] = body
        if lang == "id":
            buttons = [b.label for b in btns]
    return Preview(
        total, by_channel, total - opted - unreach, opted, unreach, outside, daily_limit, used, days, texts, buttons
    )


def _days_needed(outside: int, limit: int, used: int) -> int:
    if not limit or outside == 0:
        return 1
    left = max(0, limit - used)
    if outside <= left:
        return 1
    return 1 + math.ceil((outside - left) / limit)


async def create(
    session: AsyncSession,
    *,
    created_by: str,
    segment: dict[str, str],
    channels: Sequence[str],
    template: str | None,
    text: str | None,
    variables: dict[str, Any] | None = None,
    rsvp: bool = False,
    at: datetime | None = None,
    quiet_policy: str = "defer",
    now: datetime,
    campaign_code: str | None = None,
    telegram_username: str | None = None,
    whatsapp_number: str | None = None,
) -> Broadcast:
    """Store a broadcast with its campaign code (`kampanye-<id>` when none is given) and the link
    each channel's message carries (when the bot's Telegram username or WhatsApp number is known)."""
    if bool(template) == bool(text):
        raise ValueError("give a template or a text, not both")
    if campaign_code is not None and not links.valid_code(campaign_code):
        raise ValueError(f"bad campaign code {campaign_code!r}")
    b = Broadcast(
        template=template,
        text=text,
        variables=variables or {},
        segment=segment,
        channels=",".join(channels),
        rsvp=rsvp,
        quiet_policy=quiet_policy,
        status="scheduled",
        scheduled_at=at or now,
        created_by=created_by,
        created_at=now,
        campaign_code=campaign_code,
    )
    session.add(b)
    await session.flush()
    if not b.campaign_code:
        b.campaign_code = auto_code(b.id)
    b.links = campaign_links(b.campaign_code, telegram_username=telegram_username, whatsapp_number=whatsapp_number)
    await session.flush()
    return b


async def fan_out(session: AsyncSession, b: Broadcast, now: datetime, *, daily_limit: int) -> int:
    """Queue one outbox row per recipient; the broadcast moves to `sending`. Idempotent."""
    channels = [c for c in (b.channels or "").split(",") if c]  # checked when it was created
    cond = recipients_condition(b.segment or {}, channels)
    start = b.scheduled_at if b.scheduled_at and _aware(b.scheduled_at) > now else now
    state = case(
        (Contact.opted_out_at.is_not(None), literal(SKIPPED)),
        (Contact.unreachable_at.is_not(None), literal(SKIPPED)),
        else_=literal(QUEUED),
    )
    reason = case(
        (Contact.opted_out_at.is_not(None), literal(OPTED_OUT)),
        (Contact.unreachable_at.is_not(None), literal(UNREACHABLE)),
        else_=literal(None),
    )
    finished = case(
        (or_(Contact.opted_out_at.is_not(None), Contact.unreachable_at.is_not(None)), literal(now)), else_=literal(None)
    )
    source = select(
        literal(f"b{b.id}"),
        literal(KIND_BROADCAST),
        literal(b.id),
        Contact.id,
        Contact.channel,
        literal(1),
        state,
        reason,
        literal(start),
        literal(0),
        literal({}, type_=OutboxRow.__table__.c.payload.type),
        literal(now),
        finished,
    ).where(cond)
    cols = ["source_key", "kind", "broadcast_id", "contact_id", "channel", "priority", "state", "reason",
            "not_before", "attempts", "payload", "created_at", "finished_at"]  # fmt: skip
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(OutboxRow).from_select(cols, source).on_conflict_do_nothing(index_elements=["source_key", "contact_id"])
    )
    await session.execute(stmt)
    if "whatsapp" in channels and daily_limit:
        await _spread_whatsapp(session, b, now, start, daily_limit)
    total = await session.scalar(select(func.count()).where(OutboxRow.broadcast_id == b.id))
    b.recipients = int(total or 0)
    b.status = "sending"
    b.started_at = now
    return b.recipients


async def _spread_whatsapp(session: AsyncSession, b: Broadcast, now: datetime, start: datetime, limit: int) -> None:
    window_start = now - WINDOW
    ids = (
        await session.scalars(
            select(OutboxRow.id)
            .join(Contact, Contact.id == OutboxRow.contact_id)
            .where(
                OutboxRow.broadcast_id == b.id,
                OutboxRow.channel == "whatsapp",
                OutboxRow.state == QUEUED,
                or_(Contact.last_inbound_at.is_(None), Contact.last_inbound_at < window_start),
            )
            .order_by(OutboxRow.id)
        )
    ).all()
    used = await _whatsapp_used_24h(session, now)
    left = max(0, limit - used)
    later = ids[left:]
    for day in range(math.ceil(len(later) / limit)):
        chunk = later[day * limit : (day + 1) * limit]
        when = start + timedelta(days=day + 1)
        for i in range(0, len(chunk), 1000):
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(chunk[i : i + 1000]))
                .values(not_before=when, reason=DAILY_LIMIT)
                .execution_options(synchronize_session=False)
            )


async def due_broadcasts(session: AsyncSession, now: datetime, limit: int = 10) -> list[Broadcast]:
    rows = await session.scalars(
        select(Broadcast)
        .where(Broadcast.status == "scheduled", Broadcast.scheduled_at <= now)
        .order_by(Broadcast.scheduled_at, Broadcast.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.all())


async def finish_done(session: AsyncSession, now: datetime) -> int:
    """Broadcasts with nothing left to send are `done`."""
    busy = exists().where(OutboxRow.broadcast_id == Broadcast.id, OutboxRow.state.in_((QUEUED, CLAIMED, SENDING)))
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.status == "sending", ~busy)
        .values(status="done", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def cancel(session: AsyncSession, broadcast_id: int, now: datetime) -> int:
    """Stop a broadcast: rows not yet attempted are skipped (a claimed row fails the fence)."""
    b = await session.get(Broadcast, broadcast_id)
    if b is None:
        raise LookupError(broadcast_id)
    if b.status in ("done", "cancelled"):
        return 0
    b.status = "cancelled"
    b.cancelled_at = now
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.broadcast_id == broadcast_id, OutboxRow.state.in_((QUEUED, CLAIMED)))
        .values(state=SKIPPED, reason=CANCELLED, finished_at=now, claim_token=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def count_uncertain(session: AsyncSession, broadcast_id: int) -> int:
    """Rows of a broadcast that may have arrived (see bot/delivery/outbox.py)."""
    n = await session.scalar(
        select(func.count()).where(OutboxRow.broadcast_id == broadcast_id, OutboxRow.state == UNCERTAIN)
    )
    return int(n or 0)


async def resend_uncertain(session: AsyncSession, broadcast_id: int, now: datetime) -> int:
    """Staff's explicit choice: send again the rows that may have arrived (some workers may get it twice)."""
    b = await session.get(Broadcast, broadcast_id)
    if b is None:
        raise LookupError(broadcast_id)
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.broadcast_id == broadcast_id, OutboxRow.state == UNCERTAIN)
        .values(state=QUEUED, reason=None, not_before=now, claim_token=None, finished_at=None)
        .execution_options(synchronize_session=False)
    )
    n = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if b.status == "done" and n:
        b.status = "sending"
    return n


@dataclass
class Status:
    broadcast: Broadcast
    counts: dict[str, int]
    rsvp: dict[str, int]

    @property
    def total(self) -> int:
        return sum(v for k, v in self.counts.items() if ":" not in k)

    @property
    def finished(self) -> int:
        return sum(self.counts.get(s, 0) for s in FINISHED)

    @property
    def uncertain(self) -> int:
        """May have arrived: not sent again unless staff choose to (`resend-uncertain`)."""
        return self.counts.get(UNCERTAIN, 0)

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in (QUEUED, CLAIMED, SENDING))


async def counts(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxRow.state, OutboxRow.reason, func.count())
        .where(OutboxRow.broadcast_id == broadcast_id)
        .group_by(OutboxRow.state, OutboxRow.reason)
    )
    out: dict[str, int] = {}
    for state, reason, n in rows.all():
        out[state] = out.get(state, 0) + n
        if reason and state in (UNCERTAIN, SKIPPED, FAILED, QUEUED):
            key = f"{state}:{reason}"
            out[key] = out.get(key, 0) + n
    return out


async def status(session: AsyncSession, broadcast_id: int) -> Status:
    b = await session.get(Broadcast, broadcast_id)
    if b is None:
        raise LookupError(broadcast_id)
    rsvp = {
        answer: int(n)
        for answer, n in (
            await session.execute(
                select(RsvpAnswer.answer, func.count())
                .where(RsvpAnswer.broadcast_id == broadcast_id)
                .group_by(RsvpAnswer.answer)
            )
        ).all()
    }
    return Status(b, await counts(session, broadcast_id), rsvp)


async def list_broadcasts(session: AsyncSession, limit: int = 50) -> list[Broadcast]:
    return list((await session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit))).all())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
