"""The dashboard's queries. Each one is served by an index (models.py, dashboard_models.py).

A coordinator's areas are a WHERE clause here, on every query that reads leads or callback
requests, so no page, export or form can show them a lead outside their areas.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, false, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from content import regions
from handlers import lead_quality, links, occupations
from handlers.validators import indonesian_digits
from storage.assignment import OPEN_STATUSES, overdue, waiting_since
from storage.campaign_models import FINISHED, Broadcast, OutboxRow, RsvpAnswer
from storage.crypto import FieldCipher
from storage.dashboard_models import CallbackRequest, CoordinatorTarget
from storage.db import Database
from storage.models import LEAD_STATUSES, Contact, Lead, LeadNameWord, Staff
from storage.outbound import OutboundMessage
from storage.scope import kecamatan_in, lead_in, leads_in
from storage.search import fold, prefix_range

PAGE_SIZE = 50
STATUSES = LEAD_STATUSES
SORTS = ("newest", "oldest", "name")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


VIEWS = ("mine", "overdue", "unassigned", "flagged", "callbacks")  # the work lists ("": all)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking, for the filters that depend on it: "mine", "overdue", a NIK's digits."""

    staff_id: int | None = None
    followup_hours: int = 48
    now: datetime | None = None  # None: the current time
    cipher: FieldCipher | None = None
    tz: ZoneInfo | None = None

    def instant(self) -> datetime:
        return self.now or datetime.now(UTC)

    def today(self) -> date:
        return self.instant().astimezone(self.tz or UTC).date()


@dataclass(frozen=True, slots=True)
class LeadFilter:
    area: str = ""
    status: str = ""
    occupation: str = ""
    campaign: str = ""
    date_from: str = ""
    date_to: str = ""
    q: str = ""
    sort: str = "newest"
    assigned: str = ""  # "none": unassigned; a staff id: theirs
    view: str = ""  # one of VIEWS, "" for all

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> LeadFilter:
        def get(name: str) -> str:
            return str(params.get(name) or "").strip()[:100]

        area = get("area")
        status = get("status")
        occupation = get("occupation")
        campaign = get("campaign")
        assigned = get("assigned")
        return cls(
            area=area if area.isdigit() and len(area) in (4, 6) else "",
            status=status if status in STATUSES else "",
            occupation=occupation if occupations.by_key(occupation) else "",
            campaign=campaign if _CODE.match(campaign) else "",
            date_from=get("date_from") if _date(get("date_from")) else "",
            date_to=get("date_to") if _date(get("date_to")) else "",
            q=get("q"),
            sort=get("sort") if get("sort") in SORTS else "newest",
            assigned=assigned if assigned == "none" or (assigned.isdigit() and len(assigned) < 10) else "",
            view=get("view") if get("view") in VIEWS else "",
        )

    def params(self, **overrides: str) -> dict[str, str]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(overrides)
        return {k: v for k, v in values.items() if v and not (k == "sort" and v == "newest")}

    def query_string(self, **overrides: str) -> str:
        return urlencode(self.params(**overrides))

    @property
    def advanced(self) -> bool:
        """Whether a filter in the folded panel is set (the panel then shows open)."""
        return any((self.area, self.status, self.occupation, self.campaign, self.date_from, self.date_to,
                    self.assigned, self.sort != "newest"))  # fmt: skip

    def conditions(self, tz: ZoneInfo, viewer: Viewer | None = None) -> list[Any]:
        viewer = viewer or Viewer(tz=tz)
        conds: list[Any] = []
        if self.area:
            conds.append(lead_in(self.area))
        if self.status:
            conds.append(Lead.status == self.status)
        if self.occupation:
            conds.append(Lead.occupation == self.occupation)
        if self.campaign:
            conds.append(Lead.campaign_code == self.campaign)
        start = _date(self.date_from)
        if start:
            conds.append(Lead.created_at >= _utc_start(start, tz))
        end = _date(self.date_to)
        if end:
            conds.append(Lead.created_at < _utc_start(end + timedelta(days=1), tz))
        if self.q:
            conds.append(search_condition(self.q, viewer.cipher))
        if self.assigned == "none":
            conds.append(Lead.assigned_staff_id.is_(None))
        elif self.assigned:
            conds.append(Lead.assigned_staff_id == int(self.assigned))
        if self.view == "mine":
            conds.append(Lead.assigned_staff_id == (viewer.staff_id or 0))
        elif self.view == "overdue":
            conds.append(overdue(viewer.instant(), viewer.followup_hours))
        elif self.view == "unassigned":
            conds.append(Lead.assigned_staff_id.is_(None))
        elif self.view == "flagged":
            conds.append(lead_quality.flagged(viewer.today()))
        return conds


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _utc_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tz).astimezone(UTC)


def search_condition(q: str, cipher: FieldCipher | None = None) -> Any:
    """What a search box finds.

    Digits: the phone by prefix (0812..., 62812..., +62812...); 4 digits also the NIK's last 4
    (their keyed hash, leads.nik_tail_hash), 2 or 3 the NIK's last digits as the masked NIK shows
    them; 16 digits the whole NIK (its keyed hash). Anything else the name, word by word, each
    typed word the start of a word of the name, accents and case aside ("eneng" finds "Enéng")."""
    digits = re.sub(r"[\s.\-()*]", "", q)
    if re.fullmatch(r"\d{2,3}", digits):
        return Lead.nik_masked.like("%" + digits)
    if re.fullmatch(r"\d{16}", digits) and cipher is not None:
        return Lead.nik_hash == cipher.keyed_hash(digits)
    if re.fullmatch(r"\+?\d{4,}", digits):
        phone = Lead.phone_e164.like("+" + indonesian_digits(digits) + "%")
        if len(digits) == 4 and cipher is not None:
            return or_(phone, Lead.nik_tail_hash == cipher.tail_hash(digits))
        return phone
    words = fold(q).split()[:5]
    if not words:
        return false()  # nothing a name is made of
    conds = []
    for word in words:
        low, high = prefix_range(word)
        conds.append(Lead.id.in_(select(LeadNameWord.lead_id).where(LeadNameWord.word.between(low, high))))
    return and_(*conds)


def _order(sort: str) -> tuple[Any, ...]:
    if sort == "oldest":
        return (Lead.created_at.asc(), Lead.id.asc())
    if sort == "name":
        return (Lead.full_name.asc(), Lead.id.asc())
    return (Lead.created_at.desc(), Lead.id.desc())


def _after(sort: str, cursor: str) -> Any:
    """Keyset pagination: the rows after the last one shown, found through the sort's index."""
    key, _, ident = cursor.rpartition("|")
    lead_id = int(ident)
    if sort == "name":
        return tuple_(Lead.full_name, Lead.id) > tuple_(key, lead_id)
    when = datetime.fromisoformat(key)
    if sort == "oldest":
        return tuple_(Lead.created_at, Lead.id) > tuple_(when, lead_id)
    return tuple_(Lead.created_at, Lead.id) < tuple_(when, lead_id)


def cursor_of(lead: Lead, sort: str) -> str:
    key = lead.full_name if sort == "name" else lead.created_at.isoformat()
    return f"{key}|{lead.id}"


def filtered(flt: LeadFilter, areas: Sequence[str] | None, tz: ZoneInfo, viewer: Viewer | None = None) -> Select[Any]:
    return select(Lead).where(leads_in(areas), *flt.conditions(tz, viewer)).order_by(*_order(flt.sort))


async def lead_page(
    session: AsyncSession,
    flt: LeadFilter,
    areas: Sequence[str] | None,
    tz: ZoneInfo,
    after: str | None,
    viewer: Viewer | None = None,
    page: int = 1,
) -> tuple[list[Lead], int, str | None]:
    """One page of leads, the total matching, and the cursor of the next page (None on the last).

    `after` (a cursor: "next" from the page before) walks on through the sort's index; without it
    `page` is a page number, counted from the start (the numbered links)."""
    query = filtered(flt, areas, tz, viewer)
    if after:
        with contextlib.suppress(ValueError):
            query = query.where(_after(flt.sort, after))
    elif page > 1:
        query = query.offset((page - 1) * PAGE_SIZE)
    rows = list((await session.scalars(query.limit(PAGE_SIZE + 1))).all())
    total = int(
        await session.scalar(select(func.count()).select_from(Lead).where(leads_in(areas), *flt.conditions(tz, viewer)))
        or 0
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, total, cursor_of(rows[-1], flt.sort) if more and rows else None


def page_numbers(page: int, total: int, around: int = 2) -> list[int | None]:
    """The page links to show: the first, the last and those near `page`; None marks a gap."""
    last = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    shown = sorted({1, last, *range(max(page - around, 1), min(page + around, last) + 1)})
    out: list[int | None] = []
    for number in shown:
        if out and number - (out[-1] or 0) > 1:
            out.append(None)
        out.append(number)
    return out


async def stream(
    db: Database, flt: LeadFilter, areas: Sequence[str] | None, tz: ZoneInfo, viewer: Viewer | None = None
) -> AsyncIterator[Lead]:
    """What the filter shows, row by row, for exports (bot/exports.py writes them)."""
    async with db.session() as session:
        result = await session.stream_scalars(filtered(flt, areas, tz, viewer).execution_options(yield_per=500))
        async for lead in result:
            yield lead
            session.expunge(lead)


async def visit_list(
    session: AsyncSession,
    areas: Sequence[str] | None,
    kecamatan: str = "",
    coordinator: int | None = None,
    limit: int = 2000,
) -> list[tuple[Lead, str | None]]:
    """Open leads to visit, by coordinator then kecamatan then name, each with the question of the
    worker's latest callback request (what they asked), within `areas`."""
    conds: list[Any] = [leads_in(areas), Lead.status.in_(OPEN_STATUSES)]
    if kecamatan:
        conds.append(lead_in(kecamatan))
    if coordinator is not None:
        conds.append(Lead.assigned_staff_id == coordinator if coordinator else Lead.assigned_staff_id.is_(None))
    asked = (
        select(CallbackRequest.question)
        .where(CallbackRequest.contact_id == Lead.contact_id, Lead.contact_id.is_not(None))
        .order_by(CallbackRequest.created_at.desc(), CallbackRequest.id.desc())
        .limit(1)
        .correlate(Lead)
        .scalar_subquery()
    )
    query = (
        select(Lead, asked)
        .where(*conds)
        .order_by(Lead.assigned_staff_id, Lead.kecamatan_code, Lead.full_name, Lead.id)
        .limit(limit)
    )
    return [(lead, question) for lead, question in (await session.execute(query)).all()]


async def visible_lead(session: AsyncSession, lead_id: int, areas: Sequence[str] | None) -> Lead | None:
    lead: Lead | None = await session.scalar(select(Lead).where(Lead.id == lead_id, leads_in(areas)))
    return lead


async def staff_names(session: AsyncSession) -> dict[int, str]:
    return {row.id: row.name for row in await session.execute(select(Staff.id, Staff.name))}


async def unassigned_open(session: AsyncSession) -> int:
    """Leads still being worked that no coordinator has (none for their area, or one left)."""
    query = (
        select(func.count()).select_from(Lead).where(Lead.assigned_staff_id.is_(None), Lead.status.in_(OPEN_STATUSES))
    )
    return int(await session.scalar(query) or 0)


async def coordinators(session: AsyncSession) -> list[Staff]:
    rows = await session.scalars(
        select(Staff).where(Staff.role == "coordinator", Staff.active.is_(True)).order_by(Staff.name, Staff.id)
    )
    return list(rows.all())


# --- callback requests -------------------------------------------------------------------------


async def open_callbacks(session: AsyncSession, areas: Sequence[str] | None, limit: int = 50) -> list[Any]:
    query = (
        select(CallbackRequest, Contact)
        .join(Contact, Contact.id == CallbackRequest.contact_id)
        .where(CallbackRequest.status == "open", kecamatan_in(CallbackRequest.kecamatan_code, areas))
        .order_by(CallbackRequest.created_at, CallbackRequest.id)
        .limit(limit)
    )
    return list((await session.execute(query)).all())


async def visible_callback(session: AsyncSession, callback_id: int, areas: Sequence[str] | None) -> Any:
    return await session.scalar(
        select(CallbackRequest).where(
            CallbackRequest.id == callback_id, kecamatan_in(CallbackRequest.kecamatan_code, areas)
        )
    )


# --- overview --------------------------------------------------------------------------------


@dataclass(slots=True)
class Funnel:
    conversations: int = 0
    leads: int = 0
    contacted: int = 0  # contacted, registered or declined: someone acted on it
    registered: int = 0

    def add(self, status: str, count: int) -> None:
        self.leads += count
        if status != "new":
            self.contacted += count
        if status == "registered":
            self.registered += count


async def funnel_by_region(
    session: AsyncSession, areas: Sequence[str] | None
) -> tuple[Funnel, list[tuple[str, Funnel]]]:
    by: dict[str, Funnel] = {}
    leads = await session.execute(
        select(Lead.kabkota_code, Lead.status, func.count())
        .where(leads_in(areas))
        .group_by(Lead.kabkota_code, Lead.status)
    )
    for code, status, count in leads:
        by.setdefault(code, Funnel()).add(status, count)
    region = func.substr(Contact.region_code, 1, 4)
    contacts = await session.execute(
        select(region, func.count()).where(kecamatan_in(Contact.region_code, areas)).group_by(region)
    )
    total = Funnel()
    for code, count in contacts:
        total.conversations += count
        if code:
            by.setdefault(code, Funnel()).conversations += count
    for funnel in by.values():
        total.leads += funnel.leads
        total.contacted += funnel.contacted
        total.registered += funnel.registered
    outreach = {code: i for i, code in enumerate(regions.OUTREACH)}  # the branch's own regions first
    ordered = [(code, by[code]) for code in sorted(by, key=lambda c: (outreach.get(c, 99), c))]
    return total, ordered


def _week_expr(column: Any, dialect: str, tz: ZoneInfo, now: datetime) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.date_trunc("week", func.timezone(str(tz), column)), "YYYY-MM-DD")
    # SQLite keeps UTC text; shift by the zone's current offset (Indonesia has no DST) to local time,
    # then back to that week's Monday.
    offset = int((now.astimezone(tz).utcoffset() or timedelta()).total_seconds() // 60)
    return func.date(column, f"{offset:+d} minutes", "weekday 0", "-6 days")


async def funnel_by_week(
    session: AsyncSession, areas: Sequence[str] | None, tz: ZoneInfo, now: datetime, weeks: int = 12
) -> list[tuple[date, Funnel]]:
    dialect = session.get_bind().dialect.name
    local_today = now.astimezone(tz).date()
    monday = local_today - timedelta(days=local_today.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    since = _utc_start(first, tz)
    buckets = {first + timedelta(weeks=i): Funnel() for i in range(weeks)}
    lead_week = _week_expr(Lead.created_at, dialect, tz, now)
    rows = await session.execute(
        select(lead_week, Lead.status, func.count())
        .where(Lead.created_at >= since, leads_in(areas))
        .group_by(lead_week, Lead.status)
    )
    for week, status, count in rows:
        bucket = buckets.get(date.fromisoformat(str(week)[:10]))
        if bucket is not None:
            bucket.add(status, count)
    contact_week = _week_expr(Contact.created_at, dialect, tz, now)
    rows = await session.execute(
        select(contact_week, func.count())
        .where(Contact.created_at >= since, kecamatan_in(Contact.region_code, areas))
        .group_by(contact_week)
    )
    for week, count in rows:
        bucket = buckets.get(date.fromisoformat(str(week)[:10]))
        if bucket is not None:
            bucket.conversations += count
    return sorted(buckets.items())


async def registered_by_area(
    session: AsyncSession, since: datetime, areas: Sequence[str] | None, codes: Sequence[str]
) -> dict[str | None, int]:
    """Leads registered since `since`: in total (key None) and in each of `codes`, in one scan."""
    kabkota = await session.execute(
        select(Lead.kabkota_code, func.count())
        .where(Lead.status == "registered", Lead.created_at >= since, leads_in(areas))
        .group_by(Lead.kabkota_code)
    )
    counts: dict[str | None, int] = {None: 0}
    for code, count in kabkota:
        counts[None] += count
        counts[code] = count
    found: dict[str | None, int] = {code: counts.get(code, 0) for code in codes if len(code) == 4}
    for code in codes:
        if len(code) == 6:
            found[code] = int(
                await session.scalar(
                    select(func.count())
                    .select_from(Lead)
                    .where(Lead.status == "registered", Lead.created_at >= since, Lead.kecamatan_code == code)
                )
                or 0
            )
    return {None: counts[None], **found}


async def waiting(
    session: AsyncSession, areas: Sequence[str] | None, before: datetime, limit: int = 10
) -> tuple[int, list[Lead]]:
    conds = [waiting_since(before), leads_in(areas)]
    count = int(await session.scalar(select(func.count()).select_from(Lead).where(*conds)) or 0)
    rows = await session.scalars(select(Lead).where(*conds).order_by(Lead.created_at, Lead.id).limit(limit))
    return count, list(rows.all())


@dataclass(slots=True)
class CoordinatorRow:
    staff: Staff
    assigned: Funnel
    field_entries: int = 0
    target: int | None = None


async def coordinator_results(session: AsyncSession, only: int | None = None) -> list[CoordinatorRow]:
    query = select(Staff).where(Staff.role == "coordinator", Staff.active.is_(True)).order_by(Staff.name)
    if only is not None:
        query = query.where(Staff.id == only)
    staff = list((await session.scalars(query)).all())
    if not staff:
        return []
    ids = [s.id for s in staff]
    rows = {s.id: CoordinatorRow(s, Funnel()) for s in staff}
    for staff_id, status, count in await session.execute(
        select(Lead.assigned_staff_id, Lead.status, func.count())
        .where(Lead.assigned_staff_id.in_(ids))
        .group_by(Lead.assigned_staff_id, Lead.status)
    ):
        rows[cast(int, staff_id)].assigned.add(status, count)  # never NULL: filtered by id
    for staff_id, count in await session.execute(
        select(Lead.created_by_staff_id, func.count())
        .where(Lead.created_by_staff_id.in_(ids))
        .group_by(Lead.created_by_staff_id)
    ):
        rows[cast(int, staff_id)].field_entries = count
    for target in await session.scalars(select(CoordinatorTarget).where(CoordinatorTarget.staff_id.in_(ids))):
        rows[target.staff_id].target = target.target
    return list(rows.values())


async def top_referrers(
    session: AsyncSession, areas: Sequence[str] | None, cipher: FieldCipher, limit: int = 10
) -> list[tuple[str, str, int]]:
    """(kabupaten/kota code, referrer's name, leads) for the workers whose invitations brought most leads."""
    counted = (
        select(Lead.kabkota_code, Lead.campaign_code, func.count().label("leads"))
        .where(Lead.campaign_code.like("ref-%"), leads_in(areas))
        .group_by(Lead.kabkota_code, Lead.campaign_code)
        .order_by(func.count().desc(), Lead.kabkota_code)
        .limit(limit)
    )
    rows = (await session.execute(counted)).all()
    referrers = {code: links.referrer_of(code, cipher) for _, code, _ in rows}
    names: dict[int, str] = {}
    ids = [i for i in referrers.values() if i is not None]
    if ids:
        for contact_id, name in await session.execute(
            select(Lead.contact_id, Lead.full_name).where(Lead.contact_id.in_(ids)).order_by(Lead.id)
        ):
            names[cast(int, contact_id)] = name
    result = []
    for kabkota, code, count in rows:
        referrer = referrers[code]
        result.append((kabkota, names.get(referrer, "—") if referrer is not None else "—", count))
    return result


# --- campaigns ---------------------------------------------------------------------------------


def _first_message_id(column: Any, dialect: str) -> Any:
    """The first platform id of an outbox row: a long text split in parts records "id1,id2"."""
    if dialect == "postgresql":
        return func.split_part(column, ",", 1)
    return func.substr(column, 1, func.instr(column + ",", ",") - 1)


def _delivery_join(dialect: str) -> Any:
    """Outbox rows -> the OutboundMessage the WhatsApp status webhooks update (Telegram has none)."""
    return and_(
        OutboundMessage.channel == OutboxRow.channel,
        OutboundMessage.platform_message_id == _first_message_id(OutboxRow.platform_message_id, dialect),
    )


@dataclass(slots=True)
class CampaignRow:
    broadcast: Broadcast
    recipients: int = 0
    finished: int = 0  # sent, skipped or failed
    sent: int = 0
    delivered: int = 0  # delivered or read (WhatsApp's receipts)
    read: int = 0
    rsvp_yes: int = 0
    rsvp_no: int = 0
    leads: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.recipients) if self.recipients else 0


def _count_outbox(*conds: Any) -> Any:
    return (
        select(func.count()).select_from(OutboxRow)
        .where(OutboxRow.broadcast_id == Broadcast.id, *conds)
        .correlate(Broadcast).scalar_subquery()
    )  # fmt: skip


async def latest_campaigns(session: AsyncSession, limit: int = 5) -> list[CampaignRow]:
    """The latest broadcasts with their results, in one statement (one correlated count each,
    each served by an index: outbox by broadcast and state, RSVPs by broadcast, leads by code)."""
    dialect = session.get_bind().dialect.name
    finished_states = ("sent", "skipped", "failed")

    def delivered(statuses: tuple[str, ...]) -> Any:
        return (
            select(func.count()).select_from(OutboxRow)
            .join(OutboundMessage, _delivery_join(dialect))
            .where(OutboxRow.broadcast_id == Broadcast.id, OutboxRow.state == "sent",
                   OutboundMessage.status.in_(statuses))
            .correlate(Broadcast).scalar_subquery()
        )  # fmt: skip

    def rsvp(answer: str) -> Any:
        return (
            select(func.count()).select_from(RsvpAnswer)
            .where(RsvpAnswer.broadcast_id == Broadcast.id, RsvpAnswer.answer == answer)
            .correlate(Broadcast).scalar_subquery()
        )  # fmt: skip

    leads = (
        select(func.count()).select_from(Lead)
        .where(Broadcast.campaign_code.is_not(None), Lead.campaign_code == Broadcast.campaign_code)
        .correlate(Broadcast).scalar_subquery()
    )  # fmt: skip
    query = (
        select(
            Broadcast,
            _count_outbox(),
            _count_outbox(OutboxRow.state.in_(finished_states)),
            _count_outbox(OutboxRow.state == "sent"),
            delivered(("delivered", "read")),
            delivered(("read",)),
            rsvp("yes"),
            rsvp("no"),
            leads,
        )
        .order_by(Broadcast.id.desc())
        .limit(limit)
    )
    return [CampaignRow(b, *(int(n or 0) for n in counts)) for b, *counts in (await session.execute(query)).all()]


async def campaign_progress(session: AsyncSession, limit: int = 50) -> list[CampaignRow]:
    """The campaigns list: recent broadcasts and how far each has gone (one grouped query)."""
    found = list((await session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit))).all())
    rows = {b.id: CampaignRow(b) for b in found}
    if rows:
        for broadcast_id, state, count in await session.execute(
            select(OutboxRow.broadcast_id, OutboxRow.state, func.count())
            .where(OutboxRow.broadcast_id.in_(list(rows)))
            .group_by(OutboxRow.broadcast_id, OutboxRow.state)
        ):
            row = rows[cast(int, broadcast_id)]
            row.recipients += count
            if state in FINISHED:
                row.finished += count
            if state == "sent":
                row.sent += count
    return list(rows.values())


@dataclass(slots=True)
class Receipts:
    delivered: int = 0  # delivered or read
    read: int = 0
    failed: dict[str, int] | None = None  # failed after sending (WhatsApp's status webhook), by reason


async def campaign_receipts(session: AsyncSession, broadcast_id: int) -> Receipts:
    """What WhatsApp reported about a broadcast's sent messages (grouped by status and error)."""
    dialect = session.get_bind().dialect.name
    rows = await session.execute(
        select(OutboundMessage.status, OutboundMessage.error_code, OutboundMessage.error_title, func.count())
        .select_from(OutboxRow)
        .join(OutboundMessage, _delivery_join(dialect))
        .where(OutboxRow.broadcast_id == broadcast_id, OutboxRow.state == "sent")
        .group_by(OutboundMessage.status, OutboundMessage.error_code, OutboundMessage.error_title)
    )
    out = Receipts(failed={})
    assert out.failed is not None
    for status, code, title, count in rows:
        if status in ("delivered", "read"):
            out.delivered += count
        if status == "read":
            out.read += count
        if status in ("failed", "needs_template", "undeliverable"):
            reason = " ".join(str(p) for p in (code, title) if p) or status
            out.failed[reason] = out.failed.get(reason, 0) + count
    return out


async def campaign_leads(session: AsyncSession, code: str | None) -> int:
    if not code:
        return 0
    return int(await session.scalar(select(func.count()).select_from(Lead).where(Lead.campaign_code == code)) or 0)
