"""The HTTP server: health and the web simulator, over real HTTP requests to the ASGI app."""

from __future__ import annotations

import httpx
import pytest

from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings


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
    assert body["database"] == "ok" and body["channels"] == {"telegram": "off", "whatsapp": "off"}


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


@pytest.mark.parametrize(
    "body", [b"not json", b"{}", b'{"user": ""}', b"[1, 2]", b'{"user": "x", "text": "' + b"a" * 20_000 + b'"}']
)
async def test_simulator_rejects_bad_requests_clearly(client: httpx.AsyncClient, body: bytes) -> None:
    r = await client.post("/simulator/api/message", content=body)
    assert r.status_code in (400, 413) and "error" in r.json()


async def test_home_is_the_dashboard_behind_a_login(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2F"
