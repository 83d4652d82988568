"""Staff identities (storage/models.StaffIdentity): migration 0012 moves the two old columns into
the table and back, on SQLite and PostgreSQL; one chat user is one staff member."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from storage import repositories as repo
from storage.db import Database
from storage.migrate import alembic_config
from storage.models import StaffIdentity

OLD_STAFF = (
    "INSERT INTO staff (id, name, role, telegram_id, whatsapp_phone, active, created_at)"
    " VALUES (:id, :name, 'coordinator', :tg, :wa, :active, '2026-11-01 00:00:00+00:00')"
)


async def _sql(url: str, sql: str, *rows: dict[str, object]) -> list[tuple[object, ...]]:
    db = Database(url)
    try:
        async with db.session() as session:
            if rows:
                await session.execute(text(sql), list(rows))
                return []
            return [tuple(r) for r in (await session.execute(text(sql))).all()]
    finally:
        await db.dispose()


def test_0012_moves_both_identities_into_the_table_and_back(db_url: str) -> None:
    cfg = alembic_config(db_url)
    command.downgrade(cfg, "0011")
    asyncio.run(
        _sql(
            db_url,
            OLD_STAFF,
            {"id": 1, "name": "Rina", "tg": "700100", "wa": "+6281299990000", "active": True},
            {"id": 2, "name": "Budi", "tg": None, "wa": "+6281299991111", "active": True},
            {"id": 3, "name": "Asep", "tg": "700300", "wa": None, "active": False},
            {"id": 4, "name": "Admin", "tg": None, "wa": None, "active": True},
        )
    )
    command.upgrade(cfg, "head")

    async def check() -> None:
        db = Database(db_url)
        try:
            async with db.session() as session:
                rows = (await session.execute(select(StaffIdentity.staff_id, StaffIdentity.channel,
                                                     StaffIdentity.external_id))).all()  # fmt: skip
                assert sorted(rows) == [
                    (1, "telegram", "700100"), (1, "whatsapp", "+6281299990000"),
                    (2, "whatsapp", "+6281299991111"), (3, "telegram", "700300"),
                ]  # fmt: skip
                rina = await repo.staff_for(session, "telegram", "700100")
                assert rina is not None and rina.name == "Rina"
                assert await repo.staff_for(session, "whatsapp", "+6281299990000") is rina
                assert {i.channel: i.external_id for i in rina.identities} == {
                    "telegram": "700100", "whatsapp": "+6281299990000"
                }  # fmt: skip
                assert await repo.staff_for(session, "telegram", "700300") is None  # not active
                assert await repo.staff_for(session, "whatsapp", "+6281299990000 ") is None
        finally:
            await db.dispose()

    asyncio.run(check())
    command.downgrade(cfg, "0011")
    back = asyncio.run(_sql(db_url, "SELECT id, telegram_id, whatsapp_phone FROM staff ORDER BY id"))
    assert back == [(1, "700100", "+6281299990000"), (2, None, "+6281299991111"), (3, "700300", None), (4, None, None)]
    command.upgrade(cfg, "head")
    assert asyncio.run(_sql(db_url, "SELECT count(*) FROM staff_identities")) == [(4,)]


async def test_one_chat_user_is_one_staff_member_and_identities_go_with_their_owner(db) -> None:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        rina = await repo.add_staff(
            session, name="Rina", role="coordinator", identities={"telegram": "500", "whatsapp": "+6281299998888"}
        )
        budi = await repo.add_staff(session, name="Budi", role="staff", identities={"telegram": None})
        assert budi.identities == []
        assert await repo.identity_owner(session, "telegram", "500") == rina.id
        assert await repo.identity_owner(session, "whatsapp", "500") is None
        assert repo.set_identities(budi, {"telegram": "501"}) and not repo.set_identities(budi, {"telegram": "501"})
        assert repo.set_identities(rina, {"telegram": ""})
        await session.flush()
        assert [(i.channel, i.external_id) for i in rina.identities] == [("whatsapp", "+6281299998888")]
        rina_id = rina.id
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            await repo.add_staff(session, name="Dewi", role="staff", identities={"telegram": "501"})
    async with db.session() as session:
        await session.delete(await session.get(repo.Staff, rina_id))
    async with db.session() as session:
        owners = (await session.execute(select(StaffIdentity.channel, StaffIdentity.external_id))).all()
        assert owners == [("telegram", "501")]
