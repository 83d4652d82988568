"""The per-message transaction (storage/turns.py): what a message writes, on both databases."""

from __future__ import annotations

from datetime import UTC, timedelta

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from storage.models import Contact, ConversationState, MessageLog
from tests.factories import Chat


async def test_a_message_updates_contact_state_and_log_together(engine, clock) -> None:
    chat = Chat(engine, user="t1", channel="telegram")
    replies = len(await chat.say("halo"))
    async with engine.db.session() as session:
        contact = await session.scalar(select(Contact).where(Contact.external_id == "t1"))
        assert contact is not None
        contact.unreachable_at = clock.now  # the platform said so, earlier
    clock.now += timedelta(minutes=5)
    replies += len(await chat.say("berapa iuran kalau penghasilan 2 juta"))
    replies += len(await chat.say("english", update_id=None))  # no platform id
    async with engine.db.session() as session:
        contact = await session.scalar(select(Contact).where(Contact.external_id == "t1"))
        assert contact is not None
        seen = contact.last_inbound_at
        assert seen is not None and seen.replace(tzinfo=seen.tzinfo or UTC) == clock.now  # SQLite keeps no zone
        assert contact.unreachable_at is None
        assert contact.language == "en"
        state = await session.get(ConversationState, contact.id)
        assert state is not None and state.data  # the calculator's context is kept
        logged = await session.scalar(select(func.count()).where(MessageLog.contact_id == contact.id))
    assert logged == 3 + replies


@pytest.mark.postgres
async def test_a_dropped_database_connection_loses_no_message(engine, db_url: str) -> None:
    """PostgreSQL restarts (here: every connection of the database is terminated); the next
    message is answered normally on a fresh connection, and logged once."""
    if not db_url.startswith("postgresql"):
        pytest.skip("only a server can drop a connection")
    chat = Chat(engine, user="t2", channel="telegram")
    await chat.say("halo")
    url = make_url(db_url)
    admin = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username, database="postgres")
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", url.database
        )
    finally:
        await admin.close()
    assert killed >= 1  # the pooled connection of the first message
    await chat.say("makasih ya")
    assert "Sama-sama" in chat.text and "gangguan" not in chat.text
    async with engine.db.session() as session:
        rows = (await session.scalars(select(MessageLog.text).where(MessageLog.direction == "in"))).all()
    assert rows.count("makasih ya") == 1


async def test_first_messages_of_one_user_in_two_processes_are_both_answered(db_url, cipher, matcher) -> None:
    """Two processes (webhook mode behind a load balancer) get this new user's first two
    messages at the same moment; both create the contact, one insert wins, both answer."""
    import asyncio

    from handlers.engine import Engine
    from handlers.messages import IncomingMessage
    from storage.db import Database

    databases = [Database(db_url), Database(db_url)]
    try:
        engines = [Engine(db, cipher, matcher) for db in databases]
        messages = [
            IncomingMessage(channel="telegram", user_id="t3", text=text, update_id=f"race-{i}")
            for i, text in enumerate(("halo", "berapa iuran minimal?"))
        ]
        first, second = await asyncio.gather(*(e.handle(m) for e, m in zip(engines, messages, strict=True)))
        said = " ".join(r.text for r in first + second)
        assert first and second and "gangguan" not in said
        async with databases[0].session() as session:
            contacts = (await session.scalars(select(Contact).where(Contact.external_id == "t3"))).all()
        assert len(contacts) == 1
    finally:
        for db in databases:
            await db.dispose()
