"""The issues' "done when", as a user would check it: a real `bpu-bot run` process, configured
only by environment variables, talking to a loopback Bot API server and a loopback Graph server.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.bot.test_run import BIN, free_port
from tests.channels.fake_graph import FakeGraph
from tests.channels.fake_telegram import FakeTelegram
from tests.waiting import eventually

DATA = Path(__file__).parent / "data" / "whatsapp"
APP_SECRET = "run-test-app-secret"


def whatsapp_env(graph_url: str, app_secret: str = APP_SECRET) -> dict[str, str]:
    """WhatsApp on, against the fake Graph server at `graph_url`, its webhooks signed with `app_secret`."""
    return dict(
        WHATSAPP_ACCESS_TOKEN="token",
        WHATSAPP_PHONE_NUMBER_ID="106540352242922",
        WHATSAPP_APP_SECRET=app_secret,
        WHATSAPP_VERIFY_TOKEN="verify-me",
        WHATSAPP_API_BASE_URL=graph_url,
    )


def start(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    environ.update(BPU_HTTP_PORT=str(port), BPU_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}", BPU_SECRET_KEY="k")
    environ.update(env)
    proc = subprocess.Popen(
        [str(BIN), "run"], cwd=tmp_path, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return proc, f"http://127.0.0.1:{environ['BPU_HTTP_PORT']}"


async def wait_healthy(base: str, proc: subprocess.Popen[str]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.poll() is not None:
                raise AssertionError(proc.communicate())
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("bpu-bot run did not become healthy")


async def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    # Off the loop: the fake servers live on it and must keep answering while the bot shuts down.
    out, err = await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    return out


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


def signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


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
                "/webhook/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"}
            )
            assert handshake.status_code == 200 and handshake.text == "42"
            assert (await client.post("/webhook/whatsapp", content=body, headers={"Content-Type": "application/json"})).status_code == 401
            assert graph.sent == []
            assert (await client.post("/webhook/whatsapp", content=body, headers=signed(body))).status_code == 200
        replies = await eventually(lambda: graph.messages_to("16505551234"))
        assert any("Rp16.800" in json.dumps(r) for r in replies)
    finally:
        await stop(proc)
        graph.stop()
