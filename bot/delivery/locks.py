"""PostgreSQL advisory locks, each on a dedicated connection kept open for the process's life.

A session-level lock (`pg_try_advisory_lock`) is released when its connection ends, including
when the process is killed, which is exactly the signal we need: the scheduler's leader lock
passes to another `bpu-bot run`, and a worker's liveness lock tells others its claims are orphaned.
(A transaction-level lock on a pooled connection would be released at once and exclude nothing.)
SQLite has no cross-process locks: one process is the scheduler and the only delivery worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from sqlalchemy.engine import make_url

from storage.db import is_sqlite

log = logging.getLogger(__name__)

SCHEDULER_NS = 0x42505501  # "BPU" + 1: (namespace, key) pairs for the two-integer lock form
WORKER_NS = 0x42505502


async def connect(url: str) -> Any:
    import asyncpg

    u = make_url(url)
    return await asyncpg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        database=u.database,
    )


class AdvisoryLock:
    """One session lock on its own connection; `try_acquire` may be called again after losing it."""

    def __init__(self, url: str, namespace: int, key: int) -> None:
        self.url = url
        self.namespace = namespace
        self.key = key
        self._conn: Any = None
        self.held = False

    async def try_acquire(self) -> bool:
        if is_sqlite(self.url):
            self.held = True
            return True
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await connect(self.url)
                self.held = False
            if not self.held:
                self.held = bool(
                    await self._conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", self.namespace, self.key)
                )
            else:  # still ours while the connection lives; a cheap query proves it does
                await self._conn.fetchval("SELECT 1")
        except Exception as exc:
            log.warning("advisory lock connection lost: %s", exc)
            self.held = False
            await self._drop()
        return self.held

    async def release(self) -> None:
        if self._conn is not None and self.held and not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.fetchval("SELECT pg_advisory_unlock($1, $2)", self.namespace, self.key)
        self.held = False
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:
                conn.terminate()

    @property
    def connection(self) -> Any:
        return self._conn


class Liveness:
    """The worker's claim token, and who else is alive. PostgreSQL: a lock per worker token."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.token = secrets.randbelow(2**31 - 2) + 1
        self._lock = AdvisoryLock(url, WORKER_NS, self.token)

    async def start(self) -> None:
        if not await self._lock.try_acquire():
            raise RuntimeError("could not take the worker's liveness lock")

    async def keep(self) -> bool:
        """Re-check (and re-take) the lock; False when it was lost and could not be taken back."""
        return await self._lock.try_acquire()

    async def is_dead(self, token: int) -> bool:
        if token == self.token:
            return False
        if self.sqlite:
            return True  # one delivery process on SQLite: any other claim is from a dead one
        conn = self._lock.connection
        if conn is None:
            return False
        got = await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", WORKER_NS, token)
        if got:
            await conn.fetchval("SELECT pg_advisory_unlock($1, $2)", WORKER_NS, token)
        return bool(got)

    async def live_workers(self) -> int:
        if self.sqlite or self._lock.connection is None:
            return 1
        n = await self._lock.connection.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::oid"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            WORKER_NS,
        )
        return max(1, int(n or 1))

    async def close(self) -> None:
        await self._lock.release()
