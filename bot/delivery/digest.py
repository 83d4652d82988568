"""The coordinators' daily digest: how many leads wait for them and how many asked for a call.

Once a day (a scheduler job), each active coordinator who has areas and a chat identity
(storage.models.StaffIdentity, reached on the first channel in the registry's order: Telegram,
whose user id is also the private chat's id, else WhatsApp, whose user id is the number's
digits; handlers/staff_identity.py) gets ONE message when something waits in their
areas: leads still `new` after BPU_FOLLOWUP_HOURS, and open callback requests. It is queued in
the outbox like a reminder (kind `digest`, priority 0), so pacing, quiet hours, opt-out and
at-most-once apply; the source key `d<staff id>:<local date>` makes a second run the same local
day queue nothing. The payload holds counts and area codes only: no worker's name, NIK or phone
is written to the outbox, and the coordinator opens the list with /leads or the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import registry
from content import regions
from content.render import Renderer
from handlers.messages import Button
from handlers.staff_identity import staff_chat
from storage import repositories as repo
from storage.assignment import overdue
from storage.campaign_models import QUEUED, OutboxRow
from storage.dashboard_models import CallbackRequest
from storage.db import Database
from storage.models import Lead, Staff, StaffIdentity
from storage.scope import kecamatan_in, leads_in

KIND_DIGEST = "digest"
TEMPLATE = "digest"


def source_key(staff_id: int, day: date) -> str:
    return f"d{staff_id}:{day.isoformat()}"


def identity(staff: Staff) -> tuple[str, str] | None:
    """(channel, external id) the digest goes to: Telegram first (no 24-hour window), else WhatsApp."""
    return staff_chat(staff, registry.staff_identities())


async def send_digests(
    db: Database,
    on_queued: Callable[[], None] | None,
    now: datetime,
    *,
    followup_hours: int = 48,
    tz: str = "Asia/Jakarta",
) -> int:
    """Queue today's digests (BPU_TIMEZONE's date); returns how many were queued.

    `on_queued` wakes the delivery worker (DeliveryWorker.wake) when something was queued.
    """
    day = now.astimezone(ZoneInfo(tz)).date()
    queued = 0
    async with db.session() as session:
        coordinators = (
            await session.scalars(
                select(Staff)
                .where(
                    Staff.role == "coordinator",
                    Staff.active.is_(True),
                    Staff.identities.any(StaffIdentity.channel.in_(list(registry.staff_identities()))),
                )
                .order_by(Staff.id)
            )
        ).all()
        for staff in coordinators:
            areas = sorted(a.area_code for a in staff.areas)
            target = identity(staff)
            if not areas or target is None:
                continue
            key = source_key(staff.id, day)
            if await session.scalar(select(OutboxRow.id).where(OutboxRow.source_key == key).limit(1)) is not None:
                continue  # already queued today (perhaps to the coordinator's other chat)
            waiting, oldest = (
                await session.execute(
                    select(func.count(), func.min(Lead.created_at)).where(overdue(now, followup_hours), leads_in(areas))
                )
            ).one()
            callbacks = int(
                await session.scalar(
                    select(func.count())
                    .select_from(CallbackRequest)
                    .where(CallbackRequest.status == "open", kecamatan_in(CallbackRequest.kecamatan_code, areas))
                )
                or 0
            )
            if not waiting and not callbacks:
                continue
            contact, _ = await repo.get_or_create_contact(session, *target)
            payload = {
                "date": day.isoformat(),
                "name": staff.name,
                "areas": areas,
                "waiting": int(waiting),
                "callbacks": callbacks,
                "hours": followup_hours,
                "oldest_days": (now - _aware(oldest)).days if oldest is not None else 0,
            }
            queued += await _queue(session, key, contact.id, contact.channel, payload, now)
    if queued and on_queued is not None:
        on_queued()
    return queued


async def _queue(
    session: AsyncSession, key: str, contact_id: int, channel: str, payload: dict[str, Any], now: datetime
) -> int:
    values: dict[str, Any] = dict(
        source_key=key, kind=KIND_DIGEST, contact_id=contact_id, channel=channel, priority=0, state=QUEUED,
        not_before=now, attempts=0, payload=payload, created_at=now,
    )  # fmt: skip
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(OutboxRow).values(**values).on_conflict_do_nothing(index_elements=["source_key", "contact_id"])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def render(renderer: Renderer, lang: str, payload: dict[str, Any]) -> tuple[str, tuple[Button, ...], tuple[str, ...]]:
    """Text, buttons (none) and WhatsApp template variables of one digest (the worker sends it)."""
    names = [_area_name(code) for code in payload.get("areas", [])]
    text = renderer.render(
        TEMPLATE, lang, name=payload.get("name", ""), areas=names, waiting=int(payload.get("waiting", 0)),
        callbacks=int(payload.get("callbacks", 0)), hours=int(payload.get("hours", 48)),
        oldest_days=int(payload.get("oldest_days", 0)),
    )  # fmt: skip
    return text, (), (str(payload.get("waiting", 0)), str(payload.get("callbacks", 0)))


def _area_name(code: str) -> str:
    region = regions.get(code)
    return region.name if region else code


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
