"""Issue 14.3-5: logins that cannot be raced or turned against the admin, that never hold the
event loop, and sessions that end when their account says so. Over HTTP against the ASGI app,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from argon2 import PasswordHasher

from bot.dashboard import auth
from bot.http import create_app
from tests.dashboard.conftest import PASSWORD, add_staff, csrf_of, login

ADMIN = "Kepala Cabang"
ASEP = "Asep Koordinator"


@asynccontextmanager
async def client_from(runtime, address: str) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=create_app(runtime), client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords argon2 was asked to verify, with the thread that did it."""
    seen: list[str] = []
    verify = auth.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        seen.append(threading.current_thread().name)
        return verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return seen


async def _guesses(client: httpx.AsyncClient, name: str, count: int) -> list[int]:
    token = await csrf_of(client)

    async def guess(i: int) -> int:
        form = {"csrf": token, "name": name, "password": f"guess-{i:04d}-wrong", "next": "/"}
        return (await client.post("/login", data=form)).status_code

    return list(await asyncio.gather(*(guess(i) for i in range(count))))


async def test_fifty_simultaneous_guesses_check_at_most_the_limit(runtime, db, checked: list[str]) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, ASEP, "coordinator", ("3673",))
    async with client_from(runtime, "203.0.113.7") as outsider:
        statuses = await _guesses(outsider, ASEP, 50)
    assert len(checked) <= auth.MAX_FAILURES, f"{len(checked)} passwords checked against a limit of {auth.MAX_FAILURES}"
    assert statuses.count(401) == len(checked) and statuses.count(429) == 50 - len(checked)
    # The outsider slowed themselves, not the account: Asep logs in from his own desk.
    async with client_from(runtime, "198.51.100.20") as desk:
        assert (await login(desk, ASEP)).status_code == 303


async def test_the_outsider_stays_locked_even_with_the_right_password(runtime, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, ASEP, "coordinator", ("3673",))
    async with client_from(runtime, "203.0.113.7") as outsider:
        await _guesses(outsider, ASEP, auth.MAX_FAILURES)
        assert (await login(outsider, ASEP)).status_code == 429


async def test_one_address_guessing_many_names_is_slowed(runtime, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, ASEP, "coordinator", ("3673",))
    async with client_from(runtime, "203.0.113.9") as outsider:
        for i in range(auth.MAX_ADDRESS_FAILURES):
            assert (await login(outsider, f"nama-{i}", "wrong-password")).status_code == 401
        assert (await login(outsider, ASEP)).status_code == 429
    async with client_from(runtime, "198.51.100.20") as desk:
        assert (await login(desk, ASEP)).status_code == 303


async def test_names_compare_without_case(runtime, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, ASEP, "coordinator", ("3673",))
    async with client_from(runtime, "203.0.113.7") as outsider:
        await _guesses(outsider, "asep koordinator", auth.MAX_FAILURES)
        assert (await login(outsider, "ASEP  KOORDINATOR")).status_code == 429  # one account, one count
    async with client_from(runtime, "198.51.100.20") as desk:
        assert (await login(desk, "asep koordinator")).status_code == 303


async def test_an_admin_unlocks_an_account(runtime, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, ADMIN, "admin")
    asep = await add_staff(db, ASEP, "coordinator", ("3673",))
    async with client_from(runtime, "192.0.2.5") as asep_desk, client_from(runtime, "192.0.2.1") as admin:
        await _guesses(asep_desk, ASEP, auth.MAX_FAILURES)  # Asep forgot his password
        assert (await login(asep_desk, ASEP)).status_code == 429
        assert (await login(admin, ADMIN)).status_code == 303
        token = await csrf_of(admin, "/staff")
        assert (await admin.post(f"/staff/{asep}/unlock", data={"csrf": token})).status_code == 303
        assert (await login(asep_desk, ASEP)).status_code == 303
        # Only an admin may unlock.
        token = await csrf_of(asep_desk, "/")
        assert (await asep_desk.post(f"/staff/{asep}/unlock", data={"csrf": token})).status_code == 403


async def test_a_password_reset_unlocks_the_account(runtime, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, ADMIN, "admin")
    asep = await add_staff(db, ASEP, "coordinator", ("3673",))
    async with client_from(runtime, "192.0.2.5") as asep_desk, client_from(runtime, "192.0.2.1") as admin:
        await _guesses(asep_desk, ASEP, auth.MAX_FAILURES)
        assert (await login(admin, ADMIN)).status_code == 303
        token = await csrf_of(admin, "/staff")
        form = {"csrf": token, "role": "coordinator", "areas": "3673", "password": "sandi-baru-asep-1", "active": "yes"}
        assert (await admin.post(f"/staff/{asep}", data=form)).status_code == 303
        assert (await login(asep_desk, ASEP, "sandi-baru-asep-1")).status_code == 303


@asynccontextmanager
async def copied(runtime, original: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A second browser, elsewhere, holding a copy of `original`'s session cookie."""
    async with client_from(runtime, "203.0.113.66") as thief:
        thief.cookies.set(auth.COOKIE, original.cookies[auth.COOKIE])
        assert (await thief.get("/")).status_code == 200
        yield thief


async def test_a_copied_cookie_dies_with_the_logout(runtime, db, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, ASEP, "coordinator", ("3673",))
    assert (await login(client, ASEP)).status_code == 303
    async with copied(runtime, client) as thief:
        token = await csrf_of(client, "/")
        assert (await client.post("/logout", data={"csrf": token})).status_code == 303
        r = await thief.get("/")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # Logging in again works, with a new session.
    assert (await login(client, ASEP)).status_code == 303
    assert (await client.get("/")).status_code == 200


@pytest.mark.parametrize("change", ["deactivate", "password"])
async def test_a_copied_cookie_dies_when_the_account_changes(runtime, db, change: str) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, ADMIN, "admin")
    asep = await add_staff(db, ASEP, "coordinator", ("3673",))
    async with client_from(runtime, "192.0.2.5") as asep_desk, client_from(runtime, "192.0.2.1") as admin:
        assert (await login(asep_desk, ASEP)).status_code == 303
        async with copied(runtime, asep_desk) as thief:
            assert (await login(admin, ADMIN)).status_code == 303
            token = await csrf_of(admin, "/staff")
            form = {"csrf": token, "role": "coordinator", "areas": "3673", "password": "", "active": "yes"}
            if change == "deactivate":
                await admin.post(f"/staff/{asep}", data={**form, "active": ""})
                await admin.post(f"/staff/{asep}", data=form)  # active again: the old cookie stays dead
            else:
                await admin.post(f"/staff/{asep}", data={**form, "password": "sandi-baru-asep-1"})
            assert (await thief.get("/")).status_code == 303
            assert (await asep_desk.get("/")).status_code == 303


async def test_logins_hash_off_the_event_loop(runtime, db, monkeypatch: pytest.MonkeyPatch, checked: list[str]) -> None:  # type: ignore[no-untyped-def]
    hasher = PasswordHasher(time_cost=3, memory_cost=16384, parallelism=1)  # ~tens of ms: a real cost
    monkeypatch.setattr(auth, "_hasher", hasher)
    await add_staff(db, ASEP, "coordinator", ("3673",))
    started = time.perf_counter()
    hasher.verify(hasher.hash(PASSWORD), PASSWORD)
    one = time.perf_counter() - started
    logins = 20
    stalled = 0.0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal stalled
        step = 0.005
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(step)
            now = time.perf_counter()
            stalled += max(0.0, now - last - step)
            last = now

    stop = asyncio.Event()
    tick = asyncio.create_task(ticker(stop))
    clients = [client_from(runtime, f"198.51.100.{i + 1}") for i in range(logins)]
    opened = [await c.__aenter__() for c in clients]
    try:
        tokens = [await csrf_of(c) for c in opened]
        stalled = 0.0
        statuses = await asyncio.gather(*(
            c.post("/login", data={"csrf": t, "name": ASEP, "password": PASSWORD, "next": "/"}) for c, t in zip(opened, tokens, strict=False)
        ))  # fmt: skip
    finally:
        stop.set()
        await tick
        for c in clients:
            await c.__aexit__(None, None, None)
    assert [r.status_code for r in statuses] == [303] * logins
    assert checked and threading.main_thread().name not in checked, "argon2 ran on the event loop's thread"
    # On the loop the hashes alone would stall it about logins * one; off it, the stall is the
    # loop's own work (requests, queries), far below.
    assert stalled < logins * one / 2, f"the loop stalled {stalled:.2f} s; one hash takes {one:.3f} s"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_exports_are_written_off_the_event_loop(
    runtime, db, cipher, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:  # type: ignore[no-untyped-def]
    from bot import exports, offload
    from tests.dashboard.conftest import add_lead

    threads: list[str] = []
    run_blocking = offload.run_blocking

    async def watched(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        def on_thread():  # type: ignore[no-untyped-def]
            threads.append(threading.current_thread().name)
            return fn(*args, **kwargs)

        return await run_blocking(on_thread)

    monkeypatch.setattr(exports, "run_blocking", watched)
    await add_staff(db, ADMIN, "admin")
    for i in range(3):
        await add_lead(db, cipher, name=f"Pekerja {i}")
    async with client_from(runtime, "192.0.2.1") as admin:
        assert (await login(admin, ADMIN)).status_code == 303
        r = await admin.get(f"/leads/export.{fmt}")
    assert r.status_code == 200 and len(r.content) > 100
    assert threads and all(name.startswith("bpu-offload") for name in threads)


async def test_a_name_differing_only_in_case_is_refused(runtime, db) -> None:  # type: ignore[no-untyped-def]
    # Two such accounts would share one login name, and neither could log in.
    await add_staff(db, ADMIN, "admin")
    await add_staff(db, ASEP, "coordinator", ("3673",))
    async with client_from(runtime, "192.0.2.1") as admin:
        assert (await login(admin, ADMIN)).status_code == 303
        token = await csrf_of(admin, "/staff")
        form = {"csrf": token, "name": "asep KOORDINATOR", "role": "staff", "password": "x" * 12}
        assert (await admin.post("/staff/add", data=form)).status_code == 409
