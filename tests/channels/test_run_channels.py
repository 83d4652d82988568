"""The issues' "done when", as a user would check it: a real `bpu-bot run` process, configured
only by environment variables, talking to a loopback Bot API server and a loopback Graph server.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.channels.fake_graph import FakeGraph
from tests.channels.fake_telegram import FakeTelegram
from tests.processes import free_port, signed, start, stop, wait_healthy, whatsapp_env
from tests.waiting import eventually

DATA = Path(__file__).parent / "data" / "whatsapp"


@pytest.mark.parametrize("backend", ["ptb", "aiogram"])
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_telegram_conversation_through_bpu_bot_run(tmp_path: Path, backend: str, mode: str) -> None:
    fake = await FakeTelegram().start()
    env = dict(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.root, TELEGRAM_BACKEND=backend)
    if mode == "webhook":
        port = free_port()
        env.update(BPU_HTTP_PORT=str(port), TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhook/telegram")
    proc, base = start(tmp_path, **env)
    try:
        await wait_healthy(base, proc)
        await eventually(lambda: fake.webhook_url if mode == "webhook" else fake.calls_of("getupdates"))
        for text, expected in (("halo", "BPJS Ketenagakerjaan"), ("berapa iuran minimal?", "Rp16.800")):
            before = len(fake.messages_to(777))
            status = await fake.inject({
                "update_id": fake.next_update_id(),
                "message": {"message_id": before + 1, "date": int(time.time()), "text": text,
                            "chat": {"id": 777, "type": "private", "first_name": "Ani"},
                            "from": {"id": 777, "is_bot": False, "first_name": "Ani"}},
            })  # fmt: skip
            assert status in (None, 200)
            sent = await eventually(lambda: [m for m in fake.messages_to(777)[before:] if expected in m.text])  # noqa: B023
            assert sent
        if mode == "webhook":
            assert await fake.post_webhook({"update_id": fake.next_update_id()}, secret="wrong") in (401, 403)
    finally:
        out = await stop(proc)
        await fake.stop()
    assert "telegram:" in out and "off (set TELEGRAM_BOT_TOKEN" not in out


async def test_whatsapp_signed_sample_answered_and_unsigned_refused(tmp_path: Path) -> None:
    graph = FakeGraph()
    graph_url = await graph.serve()
    proc, base = start(tmp_path, **whatsapp_env(graph_url))
    try:
        await wait_healthy(base, proc)
        sample = json.loads((DATA / "text.json").read_text())
        sample["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "berapa iuran minimal?"
        body = json.dumps(sample).encode()
        async with httpx.AsyncClient(base_url=base) as client:
            handshake = await client.get(
                "/webhook/whatsapp",
                params={"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"},
            )
            assert handshake.status_code == 200 and handshake.text == "42"
            assert (
                await client.post("/webhook/whatsapp", content=body, headers={"Content-Type": "application/json"})
            ).status_code == 401
            assert graph.sent == []
            assert (await client.post("/webhook/whatsapp", content=body, headers=signed(body))).status_code == 200
        replies = await eventually(lambda: graph.messages_to("16505551234"))
        assert any("Rp16.800" in json.dumps(r) for r in replies)
    finally:
        await stop(proc)
        graph.stop()
