"""Fixtures: a fresh database per test on SQLite, and on PostgreSQL when BPU_TEST_POSTGRES_URL is set.

Each backend is migrated once per session into a template (a file for SQLite, a
template database for PostgreSQL); every test gets a copy, so tests never share rows
and several test runs on one PostgreSQL server never collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from storage.migrate import upgrade

# Module fixtures shared by test modules of one kind, without importing them into each.
pytest_plugins = ["tests.dashboard.browsing"]

PG_ENV = "BPU_TEST_POSTGRES_URL"
PG_SKIP = f"PostgreSQL tests need {PG_ENV}, e.g. {PG_ENV}=postgresql://postgres@127.0.0.1:5432/test make test"
TEST_SECRET = "test-secret-key-not-for-production"

# CI runs the property tests derandomized: the same inputs every run, so a red run is never luck.
# Locally they explore; whatever they find is added as an explicit @example, so it fails everywhere after.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def _pg_admin(sql: str) -> None:
    import asyncpg

    url = make_url(os.environ[PG_ENV])

    async def run() -> None:
        conn = await asyncpg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password,
            database=url.database or "postgres",
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _pg_url(name: str) -> str:
    return make_url(os.environ[PG_ENV]).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not os.environ.get(PG_ENV):
        pytest.skip(PG_SKIP)
    name = f"bpu_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    upgrade(_pg_url(name))
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PgCopies:
    """Copies of the template database, made and dropped on a thread of their own: the next
    test's copy is made while this one runs, and a used copy is dropped behind it (about 70 ms
    each, times the thousand tests that run on PostgreSQL, off the suite's path)."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="pg-copies")
        self._next = self._thread.submit(self._copy)

    def _copy(self) -> str:
        name = f"bpu_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def take(self) -> str:
        name, self._next = self._next.result(), self._thread.submit(self._copy)
        return name

    def drop(self, name: str) -> None:
        self._thread.submit(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the spare copy, if it was made
            self.drop(self._next.result())
        self._thread.shutdown(wait=True)


@pytest.fixture(scope="session")
def pg_copies(pg_template: str) -> Iterator[PgCopies]:
    copies = PgCopies(pg_template)
    yield copies
    copies.close()  # before the template is dropped: no copy is being made from it


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "bpu.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    copies: PgCopies = request.getfixturevalue("pg_copies")
    name = copies.take()
    yield _pg_url(name)
    copies.drop(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend, not migrated: where a backup is restored."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    if not os.environ.get(PG_ENV):
        pytest.skip(PG_SKIP)
    name = f"bpu_e_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    yield _pg_url(name)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "bpu.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def matcher():  # type: ignore[no-untyped-def]
    from handlers.nlu import load_matcher

    return load_matcher()


class Clock:
    """A settable clock: conversations can happen on any day."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RunningClock:
    """Set to a moment, then running on in real time: a message deferred by a second (one per
    chat per second on Telegram) or a retry backed off comes due, as it would on a real day."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    @property
    def now(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._mark)

    @now.setter
    def now(self, value: datetime) -> None:
        self._base, self._mark = value, time.monotonic()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    # Inside both PP 50/2025 relief windows unless a test moves it.
    return Clock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[object]:
    from storage.db import Database

    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def cipher():  # type: ignore[no-untyped-def]
    from storage.crypto import FieldCipher

    return FieldCipher(TEST_SECRET)


def registry_engine(db: Any, cipher: Any, matcher: Any, clock: Any) -> Any:
    """An Engine told what `bpu-bot run` tells it from the channel registry (bulk channels, staff
    identities, chat phones): without them staff are not recognised and no chat gives a phone."""
    from bot.channels import registry
    from handlers.engine import Engine

    return Engine(
        db,
        cipher,
        matcher,
        broadcast_channels=registry.bulk_names(),
        staff_identities=registry.staff_identities(),
        user_phones=registry.user_phones(),
        clock=clock,
    )


@pytest.fixture
def engine(db, cipher, matcher, clock):  # type: ignore[no-untyped-def]
    return registry_engine(db, cipher, matcher, clock)
