"""storage/turns.py's statements on both databases: opening a turn, a replay, a first contact,
writing what changed with the log, and the statements built from the tables' own metadata."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from storage import turns
from storage.models import Contact, ConversationState, InboundUpdate, MessageLog

NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


async def _open(db, user: str, update: str | None, language: str = "id"):  # type: ignore[no-untyped-def]
    async with db.turn() as store:
        return await store.open("telegram", user, update, language=language, now=NOW)


async def test_a_first_message_creates_the_contact_and_an_empty_state(db) -> None:
    opened = await _open(db, "u1", "100", language="en")
    assert opened is not None
    contact, state, created = opened
    assert created and contact.external_id == "u1" and contact.language == "en"
    assert state.contact_id == contact.id and state.step is None and state.data == {}
    async with db.session() as s:
        assert (await s.scalar(select(ConversationState.contact_id))) == contact.id
        assert (await s.scalars(select(InboundUpdate.platform_id))).all() == ["100"]


async def test_a_replayed_update_opens_nothing(db) -> None:
    assert await _open(db, "u1", "100") is not None
    assert await _open(db, "u1", "100") is None
    again = await _open(db, "u1", "101")
    assert again is not None and not again[2]  # the same contact, not created twice


async def test_the_same_update_id_on_another_channel_is_not_a_replay(db) -> None:
    assert await _open(db, "u1", "100") is not None
    async with db.turn() as store:
        assert await store.open("whatsapp", "u1", "100", language="id", now=NOW) is not None


async def test_a_message_without_an_update_id_is_never_a_replay(db) -> None:
    assert await _open(db, "u1", None) is not None
    assert await _open(db, "u1", None) is not None


async def test_changes_and_log_are_written_together_and_only_what_changed(db) -> None:
    await _open(db, "u1", "1")
    async with db.turn() as store:
        opened = await store.open("telegram", "u1", "2", language="id", now=NOW)
        assert opened is not None
        contact, state, _ = opened
        contact.language = "en"
        state.step = "form:name"
        state.data = {"form": {"name": "Siti"}}
        await store.finish([
            {"contact_id": contact.id, "direction": "in", "text": "halo", "intent": "greet"},
            {"contact_id": contact.id, "direction": "out", "text": "Halo!"},
        ])  # fmt: skip
    async with db.session() as s:
        saved = await s.scalar(select(Contact))
        kept = await s.scalar(select(ConversationState))
        log = (
            await s.execute(select(MessageLog.direction, MessageLog.text, MessageLog.intent).order_by(MessageLog.id))
        ).all()
    assert saved is not None and saved.language == "en" and saved.external_id == "u1"
    assert kept is not None and kept.step == "form:name" and kept.data == {"form": {"name": "Siti"}}
    assert [tuple(row) for row in log] == [("in", "halo", "greet"), ("out", "Halo!", None)]


async def test_a_turn_that_changed_nothing_writes_nothing(db) -> None:
    await _open(db, "u1", "1")
    async with db.session() as s:
        before = await s.scalar(select(ConversationState.updated_at))
    async with db.turn() as store:
        assert await store.open("telegram", "u1", "2", language="id", now=NOW) is not None
        await store.finish([])
    async with db.session() as s:
        assert await s.scalar(select(ConversationState.updated_at)) == before
        assert (await s.scalars(select(MessageLog.id))).all() == []


async def test_a_failed_turn_leaves_no_trace(db) -> None:
    with pytest.raises(RuntimeError):
        async with db.turn() as store:
            opened = await store.open("telegram", "u1", "1", language="id", now=NOW)
            assert opened is not None
            raise RuntimeError("the handler broke")
    async with db.session() as s:
        assert (await s.scalars(select(Contact.id))).all() == []
        assert (await s.scalars(select(InboundUpdate.id))).all() == []  # so the platform's retry is answered


@pytest.mark.parametrize(("contact_fields", "state_fields"), [((), ()), (("language",), ()), ((), ("step",)),
                                                              (("language", "phone_e164"), ("data", "step", "topic"))])  # fmt: skip
def test_the_postgres_finish_statement_names_only_our_tables_and_the_changed_columns(
    contact_fields: tuple[str, ...], state_fields: tuple[str, ...]
) -> None:
    sql = str(turns._finish_pg(contact_fields, state_fields).compile(dialect=postgresql.asyncpg.dialect()))
    assert sql.count("UPDATE contacts") == bool(contact_fields)
    assert sql.count("UPDATE conversation_states") == bool(state_fields)
    assert "INSERT INTO message_log" in sql and "unnest(" in sql
    for name in contact_fields:
        assert f"{name}=" in sql
    assert turns._finish_pg(contact_fields, state_fields) is turns._finish_pg(contact_fields, state_fields)


async def test_first_time_is_once_per_key_in_any_process(db) -> None:
    """What the Telegram channel uses to tell a group once: kept in the database, so a second
    process (a second Database here) or a restart sees it."""
    from storage import repositories as repo
    from storage.db import Database

    async with db.session() as session:
        assert await repo.first_time(session, "telegram:group", "-100123")
        assert not await repo.first_time(session, "telegram:group", "-100123")
        assert await repo.first_time(session, "telegram:group", "-100999")
    other = Database(
        str(db.engine.url.render_as_string(hide_password=False)).replace("+aiosqlite", "").replace("+asyncpg", "")
    )
    try:
        async with other.session() as session:
            assert not await repo.first_time(session, "telegram:group", "-100123")
    finally:
        await other.dispose()


async def test_two_processes_handling_one_chat_at_once_lose_no_step(db, db_url: str) -> None:
    """Two turns of one worker at the same moment, each from its own connection pool (two
    processes): each reads the state and writes it a moment later. On PostgreSQL the second waits
    for the first, so neither write is lost; SQLite has one writer (and one process) anyway."""
    import asyncio

    from storage.db import Database

    await _open(db, "u1", "0")
    other = Database(db_url)

    async def bump(database: Database, update_id: str) -> None:
        async with database.turn() as store:
            opened = await store.open("telegram", "u1", update_id, language="id", now=NOW)
            assert opened is not None
            _, state, _ = opened
            seen = int(state.data.get("n", 0))
            await asyncio.sleep(0.3)  # the other turn starts meanwhile
            state.data = {**state.data, "n": seen + 1}
            await store.finish([])

    try:
        await asyncio.gather(bump(db, "1"), bump(other, "2"))
    finally:
        await other.dispose()
    async with db.session() as session:
        assert (await session.scalar(select(ConversationState.data)))["n"] == 2
