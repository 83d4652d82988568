"""The database side of one message: Core statements for the path every message takes.

Every message records its update id, loads (or creates) its contact and conversation state,
saves the state and writes the message log, in one transaction. Through the ORM that path
cost about 5 ms of CPU per message on PostgreSQL (unit of work, statement generation, a
session per message); as Core statements built once it costs about a third of that, and
the bot's throughput is bounded by exactly this CPU (bench/telegram.py).

On PostgreSQL a message takes two statements besides BEGIN and COMMIT: one records the update
and loads the contact (a first contact adds one that creates it), one writes what changed and
the log; on SQLite, where a statement costs no round trip, plain statements do the same.

Handlers still see ORM objects: the contact and its state are detached instances built
from the loaded row. A handler that needs more (the lead form, staff commands, deleting a
contact) asks the turn for its session; that session is opened on this same connection and
transaction, with the contact and state attached, so the ORM then tracks and writes them.
Without a session, what changed on them is written here as plain UPDATEs.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    String,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    null,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from storage.clock import utcnow
from storage.models import Contact, ConversationState, InboundUpdate, MessageLog

_contacts: Table = Contact.__table__  # type: ignore[assignment]
_states: Table = ConversationState.__table__  # type: ignore[assignment]
_updates: Table = InboundUpdate.__table__  # type: ignore[assignment]
_log: Table = MessageLog.__table__  # type: ignore[assignment]

CONTACT_FIELDS = tuple(column.key for column in _contacts.c)
STATE_FIELDS = ("step", "data", "topic")  # what handlers change; updated_at follows (onupdate)

_STATE_COLUMNS = tuple(_states.c[name].label(f"state_{name}") for name in (*STATE_FIELDS, "updated_at"))
_CONTACT_JOIN = and_(_contacts.c.channel == bindparam("channel"), _contacts.c.external_id == bindparam("external_id"))
_LOAD = (
    select(*_contacts.c, *_STATE_COLUMNS)
    .select_from(_contacts.outerjoin(_states, _states.c.contact_id == _contacts.c.id))
    .where(_CONTACT_JOIN)
)
_NEW_CONTACT = {
    # A first message from the same user handled by another process at the same moment
    # inserts nothing here; that row is then loaded (see _load_or_create).
    name: dml(_contacts).on_conflict_do_nothing(index_elements=["channel", "external_id"]).returning(*_contacts.c)
    for name, dml in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_NEW_STATE = insert(_states)
_STATE_ROW = ("contact_id", "step", "data", "topic", "updated_at")
_LOG = insert(_log)


def _record_update(dialect: str) -> Any:
    values: dict[str, Any] = {
        "channel": bindparam("channel"),
        "platform_id": bindparam("platform_id"),
        "received_at": bindparam("received_at"),
    }
    dml = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        dml(_updates)
        .values(values)
        .on_conflict_do_nothing(index_elements=["channel", "platform_id"])
        .returning(_updates.c.id)
    )


_RECORD_UPDATE = {name: _record_update(name) for name in ("postgresql", "sqlite")}


def _open_in_one_statement() -> Any:
    """PostgreSQL: record the update, and load the contact with its state, or create both for a
    first contact, in one round trip.

    Data-modifying CTEs run exactly once whatever the outer query reads, and every part sees
    the same snapshot: the contact is inserted only when the update is fresh and the load finds
    none. `fresh` is false for an update seen before; `created` is true for a first contact.
    The contact columns are NULL when another process created the contact at the same moment
    (the insert yields to it); the caller then loads it.
    """
    fresh = _RECORD_UPDATE["postgresql"].cte("fresh")
    new_at = bindparam("new_at", type_=_contacts.c.created_at.type)
    first = select(
        bindparam("new_channel", type_=_contacts.c.channel.type),
        bindparam("new_external_id", type_=_contacts.c.external_id.type),
        bindparam("new_language", type_=_contacts.c.language.type),
        new_at,
        new_at,
    ).where(exists(select(fresh.c.id)), ~exists(select(_contacts.c.id).where(_CONTACT_JOIN)))
    contact = (
        pg_insert(_contacts)
        .from_select(["channel", "external_id", "language", "last_inbound_at", "created_at"], first)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(*_contacts.c)
        .cte("new_contact")
    )
    state = (
        insert(_states)
        .from_select(
            ["contact_id", "data", "updated_at"],
            select(contact.c.id, bindparam("new_data", type_=_states.c.data.type), new_at),
        )
        .cte("new_state")
    )
    loaded = (
        select(*_contacts.c, *_STATE_COLUMNS)
        .select_from(_contacts.outerjoin(_states, _states.c.contact_id == _contacts.c.id))
        .where(_CONTACT_JOIN)
    )
    made = select(*contact.c, *(null().label(column.name) for column in _STATE_COLUMNS))
    found = union_all(loaded, made).subquery("found")
    one = select(literal(1).label("one")).subquery("one")
    return (
        select(exists(select(fresh.c.id)).label("fresh"), exists(select(contact.c.id)).label("created"), *found.c)
        .select_from(one.outerjoin(found, true()))
        .add_cte(state)
    )


_OPEN_PG = _open_in_one_statement()
# One chat's turns, one at a time across every process on the database: two messages of one worker
# handled by two processes at once would otherwise both read the same state and one would lose
# the other's step. A statement of its own, before the turn reads anything: a statement's snapshot
# is taken when it starts, so the read must come after the lock is held. Released at commit.
_CHAT_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("chat", type_=String), 0)))


def _create_in_one_statement() -> Any:
    """PostgreSQL: a first contact and its empty state in one round trip; no row when another
    process created the contact at the same moment."""
    values: dict[str, Any] = {
        name: bindparam(name) for name in ("channel", "external_id", "language", "last_inbound_at", "created_at")
    }
    contact = (
        pg_insert(_contacts)
        .values(values)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(*_contacts.c)
        .cte("new_contact")
    )
    state = insert(_states).from_select(
        ["contact_id", "data", "updated_at"],
        select(contact.c.id, bindparam("data", type_=_states.c.data.type), bindparam("created_at")),
    )
    return select(contact).add_cte(state.cte("new_state"))


_CREATE_PG = _create_in_one_statement()


@cache
def _finish_pg(contact_fields: tuple[str, ...], state_fields: tuple[str, ...]) -> Any:
    """PostgreSQL: what the turn changed and its message log in one round trip (data-modifying
    CTEs before the log's INSERT), built once per set of changed fields from the tables' metadata."""
    pk = bindparam("pk", type_=_contacts.c.id.type)
    now = bindparam("now", type_=_log.c.created_at.type)
    rows = (
        func.unnest(
            bindparam("directions", type_=ARRAY(_log.c.direction.type)),
            bindparam("texts", type_=ARRAY(_log.c.text.type)),
            bindparam("intents", type_=ARRAY(_log.c.intent.type)),
        )
        .table_valued("direction", "text", "intent")
        .render_derived(name="u")
    )
    statement = insert(_log).from_select(
        ["contact_id", "direction", "text", "intent", "created_at"],
        select(pk, rows.c.direction, rows.c.text, rows.c.intent, now),
    )
    if contact_fields:
        values = {name: bindparam(f"c_{name}", type_=_contacts.c[name].type) for name in contact_fields}
        statement = statement.add_cte(
            update(_contacts).where(_contacts.c.id == pk).values(values).cte("touched_contact")
        )
    if state_fields:
        values = {name: bindparam(f"s_{name}", type_=_states.c[name].type) for name in state_fields}
        touched = update(_states).where(_states.c.contact_id == pk).values({**values, "updated_at": now})
        statement = statement.add_cte(touched.cte("touched_state"))
    return statement


@cache
def _update_statement(table: Table, key: str, fields: tuple[str, ...]) -> Any:
    """UPDATE table SET <fields> WHERE <key> = :pk, built once per set of changed fields."""
    return (
        update(table).where(table.c[key] == bindparam("pk")).values({name: bindparam(f"new_{name}") for name in fields})
    )


class TurnStore:
    """One message's transaction. Open it with `Database.turn()`."""

    def __init__(self, conn: AsyncConnection | None, *, session: AsyncSession | None = None) -> None:
        self.conn = conn
        self._session = session
        self._contact: Contact | None = None
        self._state: ConversationState | None = None
        self._before: dict[str, Any] = {}
        self._state_before: dict[str, Any] = {}

    @classmethod
    def around(cls, session: AsyncSession) -> TurnStore:
        """A store over a session the caller already has (handler tests, the console)."""
        return cls(None, session=session)

    async def open(
        self, channel: str, external_id: str, platform_id: str | None, *, language: str, now: datetime
    ) -> tuple[Contact, ConversationState, bool] | None:
        """Record the update by its platform id (None: seen before, a replay), then the contact
        and its state, created (with an empty state) on first contact; True when created."""
        conn = self._connection()
        params: dict[str, Any] = {"channel": channel, "external_id": external_id}
        row: Any
        if conn.dialect.name == "postgresql":
            await conn.execute(_CHAT_LOCK, {"chat": f"{channel}:{external_id}"})
        if platform_id is None:
            row = (await conn.execute(_LOAD, params)).mappings().first()
        elif conn.dialect.name == "postgresql":
            params |= {
                "platform_id": platform_id,
                "received_at": utcnow(),
                "new_channel": channel,
                "new_external_id": external_id,
                "new_language": language,
                "new_at": now,
                "new_data": {},
            }
            row = (await conn.execute(_OPEN_PG, params)).mappings().one()
            if not row["fresh"]:
                return None
            if row["created"]:
                return self._build(row, self._empty_state(row["id"], now), created=True)
            if row["id"] is None:
                row = None
        else:
            recorded = {"channel": channel, "platform_id": platform_id, "received_at": utcnow()}
            if (await conn.execute(_RECORD_UPDATE["sqlite"], recorded)).scalar() is None:
                return None
            row = (await conn.execute(_LOAD, params)).mappings().first()
        return await self._load_or_create(row, channel, external_id, language=language, now=now)

    async def _load_or_create(
        self, row: Any, channel: str, external_id: str, *, language: str, now: datetime
    ) -> tuple[Contact, ConversationState, bool]:
        conn = self._connection()
        created = False
        state_made = False
        if row is None:
            values = {"channel": channel, "external_id": external_id, "language": language, "last_inbound_at": now}
            if conn.dialect.name == "postgresql":
                values |= {"created_at": utcnow(), "data": {}}
                inserted = (await conn.execute(_CREATE_PG, values)).mappings().first()
                state_made = True
            else:
                inserted = (await conn.execute(_NEW_CONTACT[conn.dialect.name], values)).mappings().first()
            if inserted is None:
                params = {"channel": channel, "external_id": external_id}
                row = (await conn.execute(_LOAD, params)).mappings().one()
                state_made = False
            else:
                row, created = inserted, True
        if created or row["state_updated_at"] is None:  # new, or a contact without a state row
            state = self._empty_state(row["id"], now)
            if not state_made:
                await conn.execute(_NEW_STATE, {name: getattr(state, name) for name in _STATE_ROW})
        else:
            state = ConversationState(
                contact_id=row["id"],
                step=row["state_step"],
                data=row["state_data"] if row["state_data"] is not None else {},
                topic=row["state_topic"],
                updated_at=row["state_updated_at"],
            )
        return self._build(row, state, created=created)

    @staticmethod
    def _empty_state(contact_id: int, now: datetime) -> ConversationState:
        return ConversationState(contact_id=contact_id, step=None, data={}, topic=None, updated_at=now)

    def _build(self, row: Any, state: ConversationState, *, created: bool) -> tuple[Contact, ConversationState, bool]:
        """The turn's contact and state as detached ORM objects, and what they were, to see changes."""
        contact = Contact(**{name: row[name] for name in CONTACT_FIELDS})
        contact.state = state
        make_transient_to_detached(contact)
        make_transient_to_detached(state)
        self._contact, self._state = contact, state
        self._before = {name: row[name] for name in CONTACT_FIELDS}
        self._state_before = {name: copy.deepcopy(getattr(state, name)) for name in STATE_FIELDS}
        return contact, state, created

    def session(self) -> AsyncSession:
        """An ORM session in this transaction, with the turn's contact and state attached."""
        if self._session is None:
            self._session = AsyncSession(bind=self._connection(), expire_on_commit=False, autoflush=True)
            if self._contact is not None:
                self._session.add(self._contact)  # cascades to the state
        return self._session

    async def finish(self, log_rows: Sequence[dict[str, Any]]) -> None:
        """Write what the turn changed, and its message log rows."""
        if self._session is None and self._contact is not None and self._state is not None:
            if self._connection().dialect.name == "postgresql":
                await self._finish_in_one_statement(self._contact, self._state, log_rows)
                return
            await self._write_changes(self._contact, self._state)
        elif self._session is not None:
            await self._session.flush()  # the ORM tracks the attached contact and state
        if log_rows:
            now = utcnow()
            rows = [{"intent": None, "created_at": now, **row} for row in log_rows]
            if self._session is not None and self.conn is None:
                await self._session.execute(_LOG, rows)
            else:
                await self._connection().execute(_LOG, rows)

    async def close(self) -> None:
        if self._session is not None and self.conn is not None:
            await self._session.close()  # joined to our transaction: closing it commits nothing

    def _changes(self, contact: Contact, state: ConversationState) -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            {n: v for n in CONTACT_FIELDS if (v := getattr(contact, n)) != self._before[n]},
            {n: v for n in STATE_FIELDS if (v := getattr(state, n)) != self._state_before[n]},
        )

    async def _finish_in_one_statement(
        self, contact: Contact, state: ConversationState, log_rows: Sequence[dict[str, Any]]
    ) -> None:
        contact_changes, state_changes = self._changes(contact, state)
        if not (contact_changes or state_changes or log_rows):
            return
        assert all(row["contact_id"] == contact.id for row in log_rows)
        statement = _finish_pg(tuple(sorted(contact_changes)), tuple(sorted(state_changes)))
        params: dict[str, Any] = {
            "pk": contact.id,
            "now": utcnow(),
            "directions": [row["direction"] for row in log_rows],
            "texts": [row["text"] for row in log_rows],
            "intents": [row.get("intent") for row in log_rows],
        }
        params |= {f"c_{n}": v for n, v in contact_changes.items()}
        params |= {f"s_{n}": v for n, v in state_changes.items()}
        await self._connection().execute(statement, params)

    async def _write_changes(self, contact: Contact, state: ConversationState) -> None:
        conn = self._connection()
        contact_changes, changed = self._changes(contact, state)
        if contact_changes:
            statement = _update_statement(_contacts, "id", tuple(sorted(contact_changes)))
            await conn.execute(statement, {"pk": contact.id, **{f"new_{n}": v for n, v in contact_changes.items()}})
        if changed:
            statement = _update_statement(_states, "contact_id", tuple(sorted(changed)))
            await conn.execute(statement, {"pk": state.contact_id, **{f"new_{n}": v for n, v in changed.items()}})

    def _connection(self) -> AsyncConnection:
        if self.conn is None:
            raise RuntimeError("this store wraps a session; use its session")
        return self.conn
