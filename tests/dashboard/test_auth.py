"""Logging in: argon2 passwords, the lock-out shared through the database, the first-admin link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from bot.dashboard import auth
from bot.dashboard.session_pages import setup_token
from storage.models import AuditLog, Staff
from tests.conftest import TEST_SECRET
from tests.dashboard.conftest import PASSWORD, add_staff, csrf_of, login


async def test_login_and_logout(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Rina", "staff")
    assert (await login(client, "Rina", "wrong-password")).status_code == 401
    r = await login(client, "Rina")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert (await client.get("/")).status_code == 200
    token = await csrf_of(client, "/")
    assert (await client.post("/logout", data={"csrf": token})).status_code == 303
    assert (await client.get("/")).status_code == 303


async def test_the_login_form_needs_its_csrf_token(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Rina", "staff")
    await client.get("/login")
    r = await client.post("/login", data={"name": "Rina", "password": PASSWORD})
    assert r.status_code == 403


async def test_next_never_leaves_the_site(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Rina", "staff")
    token = await csrf_of(client)
    r = await client.post(
        "/login", data={"csrf": token, "name": "Rina", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert r.headers["location"] == "/"


async def test_five_failures_lock_the_name_for_fifteen_minutes(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Rina", "staff")
    for _ in range(5):
        assert (await login(client, "Rina", "nope-nope-nope")).status_code == 401
    locked = await login(client, "Rina")  # even the right password
    assert locked.status_code == 429 and "15" in locked.text
    async with db.session() as session:
        now = datetime.now(UTC)
        assert await auth.locked_until(session, "rina", now) is not None
        assert await auth.locked_until(session, "rina", now + timedelta(minutes=16)) is None
        assert (
            await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "login_locked"))
            == 1
        )


async def test_lockout_rule(db) -> None:  # type: ignore[no-untyped-def]
    t0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    async with db.session() as session:
        for minutes in (0, 4, 8, 12):
            await auth.record_failure(session, "ani", t0 + timedelta(minutes=minutes))
        assert await auth.locked_until(session, "ani", t0 + timedelta(minutes=13)) is None
        await auth.record_failure(session, "ani", t0 + timedelta(minutes=14))
        assert await auth.locked_until(session, "ani", t0 + timedelta(minutes=15)) == t0 + timedelta(minutes=29)
        assert await auth.locked_until(session, "ani", t0 + timedelta(minutes=30)) is None
        assert await auth.locked_until(session, "other", t0 + timedelta(minutes=15)) is None
        # five failures spread over more than 15 minutes do not lock
        for minutes in (0, 5, 10, 15, 20):
            await auth.record_failure(session, "budi", t0 + timedelta(minutes=minutes))
        assert await auth.locked_until(session, "budi", t0 + timedelta(minutes=21)) is None


async def test_first_admin_through_the_one_time_link(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/setup?token=wrong")).status_code == 404
    link = f"/setup?token={setup_token(TEST_SECRET)}"
    token = await csrf_of(client, link)
    r = await client.post(
        "/setup", data={"csrf": token, "token": setup_token(TEST_SECRET), "name": "Kepala", "password": "short"}
    )
    assert r.status_code == 400
    r = await client.post(
        "/setup", data={"csrf": token, "token": setup_token(TEST_SECRET), "name": "Kepala", "password": PASSWORD}
    )
    assert r.status_code == 303
    assert (await client.get("/staff")).status_code == 200
    async with db.session() as session:
        admin = await session.scalar(select(Staff).where(Staff.name == "Kepala"))
        assert admin.role == "admin" and admin.password_hash.startswith("$argon2")
    assert (await client.get(link)).status_code == 409  # once there is an admin, the link is dead


async def test_the_banner_tells_how_to_create_the_first_admin(db_url: str, db) -> None:  # type: ignore[no-untyped-def]
    from bot.dashboard.session_pages import count_admins
    from bot.runtime import Runtime
    from bot.server import banner
    from tests.dashboard.conftest import settings_for

    runtime = Runtime(settings_for(db_url), db, None, None)  # type: ignore[arg-type]
    needs = await count_admins(db) == 0
    text = banner(runtime, needs_first_admin=needs)
    assert "bpu-bot staff add --name NAME --role admin --password" in text
    assert f"/setup?token={setup_token(TEST_SECRET)}" in text
