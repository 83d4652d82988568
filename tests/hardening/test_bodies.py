"""Issue 14, items 6 and 7, checked against a real `bpu-bot run`: oversized bodies are refused
while they stream (memory stays flat), and JSON built to break the parser gets a 400 and
nothing else (no row, no reply, no traceback)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.limits import DEFAULT_LIMIT, limit_for
from storage.db import Database
from storage.models import Contact, InboundUpdate, MessageLog
from storage.outbound import WebhookInbox
from tests.channels.fake_graph import FakeGraph
from tests.channels.fake_telegram import FakeTelegram
from tests.processes import free_port, start, stop, wait_healthy, whatsapp_env
from tests.waiting import eventually

APP_SECRET = "bodies-app-secret"
TG_SECRET = "bodies-Webhook_secret-1"
MIB = 1024 * 1024
ROUTES = ("/simulator/api/message", "/webhook/whatsapp", "/webhook/telegram")


@dataclass
class Served:
    proc: subprocess.Popen[str]
    base: str
    telegram: FakeTelegram
    graph: FakeGraph

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        (line,) = [line for line in status.splitlines() if line.startswith("VmRSS:")]
        return int(line.split()[1]) / 1024


@asynccontextmanager
async def served(tmp_path: Path, db_url: str) -> AsyncIterator[Served]:
    telegram = await FakeTelegram().start()
    graph = FakeGraph()
    graph_url = await graph.serve()
    port = free_port()
    proc, base = start(
        tmp_path,
        BPU_HTTP_PORT=str(port),
        BPU_DATABASE_URL=db_url,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_BASE_URL=telegram.root,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhook/telegram",
        TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
        **whatsapp_env(graph_url, APP_SECRET),
    )
    try:
        await wait_healthy(base, proc)
        yield Served(proc, base, telegram, graph)
    finally:
        await stop(proc)  # asserts a clean exit and no traceback on stderr
        await telegram.stop()
        graph.stop()


def headers_for(route: str, body: bytes = b"") -> dict[str, str]:
    """What a legitimate sender adds: Meta's signature, Telegram's secret."""
    kind = "application/x-www-form-urlencoded" if route == "/login" else "application/json"
    headers = {"Content-Type": kind}
    if route == "/webhook/whatsapp":
        digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    if route == "/webhook/telegram":
        headers["X-Telegram-Bot-Api-Secret-Token"] = TG_SECRET
    return headers


async def hundred_mib() -> AsyncIterator[bytes]:
    chunk = b"[" * (64 * 1024)  # the same small chunk again and again: the test holds no more
    for _ in range(100 * MIB // len(chunk)):
        yield chunk


def test_limits_are_the_routes_own() -> None:
    assert limit_for("/simulator/api/message") == 16 * 1024
    assert limit_for("/webhook/whatsapp") == limit_for("/webhook/telegram") == 1_000_000
    assert limit_for("/login") == limit_for("/campaigns/new") == DEFAULT_LIMIT


async def test_100_mib_bodies_are_refused_while_streaming_and_memory_stays_flat(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with served(tmp_path, sqlite_url) as app:
        async with httpx.AsyncClient(base_url=app.base, timeout=60) as client:
            await client.get("/healthz")  # the first request's imports are not the bodies' cost
            for route in (*ROUTES, "/login"):
                before = app.rss_mib()
                for _ in range(4):
                    response = await client.post(route, content=hundred_mib(), headers=headers_for(route))
                    assert response.status_code == 413, (route, response.text)
                    assert response.json()["limit"] == limit_for(route)
                after = app.rss_mib()
                print(f"{route}: RSS {before:.1f} MiB before, {after:.1f} MiB after four 100 MiB posts")
                assert after - before < 30, (route, before, after)
        assert app.telegram.sent == [] and app.graph.sent == []
    await assert_nothing_stored(sqlite_url)


async def test_a_declared_length_over_the_limit_is_refused_before_any_body_byte(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with served(tmp_path, sqlite_url) as app:
        port = int(app.base.rsplit(":", 1)[1])
        for route in (*ROUTES, "/login"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            head = [f"POST {route} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {100 * MIB}"]
            head += [f"{name}: {value}" for name, value in headers_for(route).items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode())  # the headers, and not one body byte
            await writer.drain()
            head_in = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            status_line, *lines = head_in.decode().split("\r\n")
            assert status_line == "HTTP/1.1 413 Request Entity Too Large", (route, head_in)
            fields = dict(line.lower().split(": ", 1) for line in lines if line)
            length = int(fields["content-length"])
            assert fields["x-content-type-options"] == "nosniff"  # a refusal is a response like any other
            assert json.loads(await reader.readexactly(length))["limit"] == limit_for(route)
            writer.close()


def nested(depth: int) -> bytes:
    """An object whose one field nests `depth` lists deep, in the shape each route expects."""
    return b'{"update_id": 5, "user": "deep", "entry": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [100, 1_000, 100_000])
async def test_deep_json_gets_400_and_nothing_else(tmp_path: Path, db_url: str, depth: int) -> None:
    body = nested(depth)
    async with served(tmp_path, db_url) as app, httpx.AsyncClient(base_url=app.base) as client:
        for route in ROUTES:
            response = await client.post(route, content=body, headers=headers_for(route, body))
            if len(body) > limit_for(route):  # 100,000 deep takes 200 KB: past the simulator's size
                assert response.status_code == 413, (route, response.text)
            else:
                assert response.status_code == 400, (route, response.text)
                assert "nested deeper" in response.text
        await asyncio.sleep(0.3)  # anything wrongly spawned would have answered by now
        assert app.telegram.sent == [] and app.graph.sent == []
    await assert_nothing_stored(db_url)


# JSON that no route can read: numbers past a float, NaN, a 5,000-digit integer, tops that
# are not an object, bytes that are not UTF-8.
UNREADABLE = [
    b'{"update_id": 1e999}',
    b'{"update_id": -1e999, "message": {}}',
    b'{"update_id": NaN}',
    b'{"update_id": Infinity}',
    b'{"update_id": ' + b"9" * 5000 + b"}",
    b"[1, 2]",
    b'"update"',
    b'{"update_id": 1, "x": "\xff"}',
]
# Read fine, but no update id Telegram would send (or one the inbound record cannot hold).
NOT_AN_UPDATE_ID = [b'{"update_id": ' + b"9" * 100 + b"}", b'{"update_id": 1.5}', b'{"update_id": "7"}',
                    b'{"update_id": true}', b'{"update_id": -3}', b'{"message": {}}']  # fmt: skip


async def test_numbers_and_tops_no_route_can_read_get_400(tmp_path: Path, db_url: str) -> None:
    async with served(tmp_path, db_url) as app, httpx.AsyncClient(base_url=app.base) as client:
        for body in UNREADABLE:
            for route in ROUTES:
                response = await client.post(route, content=body, headers=headers_for(route, body))
                assert response.status_code == 400, (route, body[:40], response.text)
        for body in NOT_AN_UPDATE_ID:
            headers = headers_for("/webhook/telegram")
            response = await client.post("/webhook/telegram", content=body, headers=headers)
            assert response.status_code == 400 and response.json()["ok"] is False, (body[:40], response.text)
        await asyncio.sleep(0.3)
        assert app.telegram.sent == [] and app.graph.sent == []
    await assert_nothing_stored(db_url)


async def test_normal_traffic_still_answered(tmp_path: Path, sqlite_url: str) -> None:
    update = {
        "update_id": 1001,
        "message": {"message_id": 1, "date": 1764558000, "text": "halo",
                    "chat": {"id": 777, "type": "private", "first_name": "Ani"},
                    "from": {"id": 777, "is_bot": False, "first_name": "Ani"}},
    }  # fmt: skip
    async with served(tmp_path, sqlite_url) as app, httpx.AsyncClient(base_url=app.base) as client:
        simulated = await client.post("/simulator/api/message", json={"user": "web-1", "text": "halo"})
        assert simulated.status_code == 200 and simulated.json()["replies"]
        raw = json.dumps(update).encode()
        headers = headers_for("/webhook/telegram")
        assert (await client.post("/webhook/telegram", content=raw, headers=headers)).status_code == 200
        await eventually(lambda: app.telegram.messages_to(777), seconds=10)


async def assert_nothing_stored(db_url: str) -> None:
    database = Database(db_url)
    try:
        async with database.session() as session:
            for model in (WebhookInbox, InboundUpdate, Contact, MessageLog):
                assert await session.scalar(select(func.count()).select_from(model)) == 0, model.__name__
    finally:
        await database.dispose()
