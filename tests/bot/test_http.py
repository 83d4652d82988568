"""The HTTP server: health and the web simulator, over real HTTP requests to the ASGI app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.channels import registry
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from handlers import links
from storage.models import Contact


@pytest.fixture
async def client(db, cipher, engine):  # type: ignore[no-untyped-def]
    runtime = Runtime(Settings(BPU_DATABASE_URL=db.url), db, cipher, engine)
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    # Every platform of the registry, off: none is configured here.
    assert body["database"] == "ok" and body["channels"] == {name: "off" for name in registry.bulk_names()}
    assert {"telegram", "whatsapp"} <= set(body["channels"])


async def test_simulator_page_and_conversation(client: httpx.AsyncClient) -> None:
    page = await client.get("/simulator")
    assert page.status_code == 200 and "simulator" in page.text
    user = (await client.post("/simulator/api/user")).json()["user"]
    r = await client.post("/simulator/api/message", json={"user": user, "text": "berapa iuran minimal?"})
    assert r.status_code == 200
    replies = r.json()["replies"]
    assert any("Rp16.800" in reply["text"] for reply in replies)
    payload = replies[-1]["buttons"][0]["payload"]
    pressed = await client.post("/simulator/api/message", json={"user": user, "payload": payload})
    assert pressed.status_code == 200 and pressed.json()["replies"]


async def _say(client: httpx.AsyncClient, user: str, **body: str) -> dict[str, Any]:
    r = await client.post("/simulator/api/message", json={"user": user, **body})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_simulator_greets_and_switches_language(client: httpx.AsyncClient) -> None:
    user = (await client.post("/simulator/api/user")).json()["user"]
    hello = await _say(client, user, text="/start")  # what the page sends on open
    assert hello["lang"] == "id" and hello["replies"][0]["text"].startswith("Halo")
    assert hello["replies"][-1]["buttons"]  # the menu comes with the greeting
    english = await _say(client, user, payload="lang:en")  # the page's EN switch
    assert english["lang"] == "en" and "English" in english["replies"][0]["text"]
    typed = await _say(client, user, text="bahasa indonesia")
    assert typed["lang"] == "id"  # the page's ID / EN switch follows a typed change too


async def _contact(db: Any, user: str) -> Contact:
    async with db.session() as s:
        contact = await s.scalar(select(Contact).where(Contact.channel == "web", Contact.external_id == user))
    assert contact is not None
    return contact


async def test_simulator_start_code_is_recorded_like_a_deep_link(
    client: httpx.AsyncClient, db: Any, cipher: Any
) -> None:
    campaign = await _say(client, "web-camp", text="/start pasar-rau")
    assert campaign["replies"][0]["text"].startswith("Halo")
    assert (await _contact(db, "web-camp")).campaign_code == "pasar-rau"

    # A referral: another worker's code names them, as in tests/handlers/test_referral.py.
    await _say(client, "web-ani", text="halo")
    ani = await _contact(db, "web-ani")
    code = links.referral_code(ani.id, cipher)
    await _say(client, "web-friend", text=f"/start {code}")
    friend = await _contact(db, "web-friend")
    assert friend.campaign_code == code and links.referrer_of(friend.campaign_code, cipher) == ani.id

    await _say(client, "web-typo", text="/start bad code!")
    assert (await _contact(db, "web-typo")).campaign_code is None


@pytest.mark.parametrize(
    ("text", "code"),
    [("/start kampanye_01", "kampanye_01"), ("/START  ojol-2026 ", "ojol-2026"), ("/start", None),
     ("/start bad code!", None), ("/menu kampanye", None), ("start kampanye", None), (None, None)],
)  # fmt: skip
def test_start_code_parser(text: str | None, code: str | None) -> None:
    assert links.start_code(text) == code


@pytest.mark.parametrize(
    "body", [b"not json", b"{}", b'{"user": ""}', b"[1, 2]", b'{"user": "x", "text": "' + b"a" * 20_000 + b'"}']
)
async def test_simulator_rejects_bad_requests_clearly(client: httpx.AsyncClient, body: bytes) -> None:
    r = await client.post("/simulator/api/message", content=body)
    assert r.status_code in (400, 413) and "error" in r.json()


async def test_home_is_the_dashboard_behind_a_login(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2F"
