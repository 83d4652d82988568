"""Engine and sessions. Users give plain SQLAlchemy URLs; we pick the async driver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage.turns import TurnStore

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """`sqlite:///x.db` -> `sqlite+aiosqlite:///x.db`; `postgresql://...` -> `postgresql+asyncpg://...`."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        if "+" in parsed.drivername:
            return url
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername!r}")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(busy_timeout_ms: int, dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the web simulator read while a worker writes; foreign keys make deletes cascade.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    cur.execute("PRAGMA synchronous=NORMAL")
    # A deleted row's bytes are overwritten, not left on a free page (UU 27/2022: deletion means gone).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


class Database:
    """One async engine and its session factory."""

    def __init__(self, url: str, *, echo: bool = False, sqlite_busy_timeout: float = 10.0) -> None:
        """`sqlite_busy_timeout`: seconds a write waits for another writer's lock before failing
        with "database is locked" (tests of a locked database keep it short)."""
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if not is_sqlite(url):
            # No pre-ping: it costs a round trip per checkout, a tenth of a message's database
            # work. A connection the server dropped fails once and the pool is renewed; the
            # engine handles that message again (handlers/engine.py), nothing is lost.
            kwargs.update(pool_size=10, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(async_url(url), **kwargs)
        if is_sqlite(url):
            event.listen(self.engine.sync_engine, "connect", partial(_sqlite_pragmas, int(sqlite_busy_timeout * 1000)))
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on any error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[TurnStore]:
        """One message's transaction (see storage/turns.py): committed on success, else rolled back."""
        async with self.engine.connect() as conn, conn.begin():
            store = TurnStore(conn)
            try:
                yield store
            finally:
                await store.close()

    async def ping(self) -> bool:
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def scrub(self) -> None:
        """After personal data was deleted: leave no readable copy in the database files.

        SQLite keeps earlier versions of changed pages in the write-ahead log until a checkpoint
        (a deleted name was found 23 times in the -wal file); secure_delete zeroes the rows in the
        main file, and a TRUNCATE checkpoint writes the log back and empties it. PostgreSQL keeps
        a deleted row's tuple in its data file until VACUUM reclaims the space (autovacuum does so
        within minutes on a busy table); README "Deleting a worker's data" says what to run.
        """
        if not is_sqlite(self.url):
            return
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            # A reader still on an old snapshot makes the checkpoint partial: try a few times.
            for _ in range(5):
                busy = (await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).first()
                if busy is not None and busy[0] == 0:
                    return
                await asyncio.sleep(0.2)
        raise RuntimeError("the write-ahead log could not be emptied (a long reader holds it)")

    async def dispose(self) -> None:
        await self.engine.dispose()
