"""Every route, every role: nobody gets a page or an export with data they may not see."""

from __future__ import annotations

import httpx
import pytest

from tests.dashboard.conftest import KASEMEN, MUNCANG, add_lead, add_staff, csrf_of, login

GET_PAGES = [
    "/",
    "/leads",
    "/leads/{lead}",
    "/leads/new",
    "/leads/export.csv",
    "/leads/export.xlsx",
    "/unanswered",
    "/content",
    "/sim",
    "/campaign-links?code=SRG1",
    "/campaign-links/poster.pdf?code=SRG1",
    "/campaign-links/qr.png?code=SRG1&for=WhatsApp",
    "/staff",
    "/audit",
]
POSTS = [
    "/logout",
    "/leads/{lead}/status",
    "/leads/{lead}/assign",
    "/leads/{lead}/reveal",
    "/leads/new",
    "/callbacks/1/done",
    "/unanswered/handled",
    "/staff/add",
    "/staff/1",
]
OFFICE_ONLY = {"/unanswered", "/content"}
ADMIN_ONLY = {"/staff", "/audit"}


@pytest.fixture
async def world(db, cipher):  # type: ignore[no-untyped-def]
    ids = {
        "admin": await add_staff(db, "Admin", "admin"),
        "staff": await add_staff(db, "Staf Kantor", "staff"),
        "coordinator": await add_staff(db, "Koor Kota", "coordinator", ("3673",)),
    }
    ids["mine"] = await add_lead(db, cipher, name="Siti Kasemen", kecamatan=KASEMEN, assigned=ids["coordinator"])
    ids["other"] = await add_lead(db, cipher, name="Dedi Muncang", kecamatan=MUNCANG)
    return ids


async def test_a_visitor_gets_no_page_and_no_data(client: httpx.AsyncClient, world: dict[str, int]) -> None:
    for path in GET_PAGES:
        r = await client.get(path.format(lead=world["mine"]))
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        assert "Siti" not in r.text and "Dedi" not in r.text
    token = await csrf_of(client)  # a visitor's own token still logs nobody in
    for path in POSTS:
        r = await client.post(path.format(lead=world["mine"]), data={"csrf": token, "status": "registered"})
        assert r.status_code == 401, path
        assert "Siti" not in r.text


async def test_every_post_without_its_csrf_token_is_refused(client: httpx.AsyncClient, db, world) -> None:  # type: ignore[no-untyped-def]
    await login(client, "Admin")
    for path in POSTS:
        r = await client.post(path.format(lead=world["mine"]), data={"status": "registered", "note": "x"})
        assert r.status_code == 403, path
        r = await client.post(path.format(lead=world["mine"]), data={"csrf": "forged", "status": "registered"})
        assert r.status_code == 403, path
    page = await client.get(f"/leads/{world['mine']}")
    assert "Baru" in page.text  # still new: nothing changed


@pytest.mark.parametrize("role", ["admin", "staff", "coordinator"])
async def test_each_role_sees_what_it_may(client: httpx.AsyncClient, world: dict[str, int], role: str) -> None:
    name = {"admin": "Admin", "staff": "Staf Kantor", "coordinator": "Koor Kota"}[role]
    assert (await login(client, name)).status_code == 303
    for path in GET_PAGES:
        r = await client.get(path.format(lead=world["mine"]))
        allowed = not ((path in ADMIN_ONLY and role != "admin") or (path in OFFICE_ONLY and role == "coordinator"))
        assert r.status_code == (200 if allowed else 403), (role, path, r.status_code)
        if not allowed:
            assert "Siti" not in r.text
    other = await client.get(f"/leads/{world['other']}")
    csv = (await client.get("/leads/export.csv")).text
    leads = (await client.get("/leads")).text
    if role == "coordinator":
        assert other.status_code == 404 and "Dedi" not in other.text
        assert "Siti Kasemen" in csv and "Dedi" not in csv
        assert "Siti Kasemen" in leads and "Dedi" not in leads
        # Asking for another area by filter gives nothing either: the restriction is in SQL.
        assert "Dedi" not in (await client.get("/leads?area=3602")).text
        assert "Dedi" not in (await client.get("/leads/export.csv?area=360205")).text
    else:
        assert other.status_code == 200
        assert "Siti Kasemen" in csv and "Dedi Muncang" in csv


async def test_a_coordinator_cannot_act_on_a_lead_outside_their_area(client: httpx.AsyncClient, world) -> None:  # type: ignore[no-untyped-def]
    await login(client, "Koor Kota")
    token = await csrf_of(client, "/leads")
    for action in ("status", "reveal"):
        r = await client.post(f"/leads/{world['other']}/{action}", data={"csrf": token, "status": "registered"})
        assert r.status_code == 404
    r = await client.post(f"/leads/{world['mine']}/assign", data={"csrf": token, "staff_id": ""})
    assert r.status_code == 403  # reassignment is the office's job


async def test_a_deactivated_account_loses_its_session(client: httpx.AsyncClient, db, world) -> None:  # type: ignore[no-untyped-def]
    from storage.models import Staff

    await login(client, "Staf Kantor")
    assert (await client.get("/leads")).status_code == 200
    async with db.session() as session:
        (await session.get(Staff, world["staff"])).active = False
    r = await client.get("/leads")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_security_headers_and_cookie_flags(client: httpx.AsyncClient, world) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/login")
    assert "frame-ancestors 'self'" in r.headers["content-security-policy"]
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    https = httpx.AsyncClient(transport=client._transport, base_url="https://test")  # type: ignore[attr-defined]
    async with https:
        assert "secure" in (await https.get("/login")).headers["set-cookie"].lower()
