"""Issue 14.1: no secret reaches a log line at any level, and the scheduler does not log every tick.

A real `bpu-bot run --log-level debug` talks to a loopback Bot API (webhook with a secret, or
polling) and a loopback Graph server; everything it wrote to stderr is searched for each secret.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from bot import logs
from bot.settings import Settings
from tests.channels.fake_graph import FakeGraph
from tests.channels.fake_telegram import FakeTelegram
from tests.processes import BIN, free_port, signed, wait_healthy
from tests.waiting import eventually

# Shaped like real ones, so the shape rule is tested as well as the configured values.
BOT_TOKEN = "7012345678:AAHfakeTokenForTests_0123456789abcdef"
WEBHOOK_SECRET = "webhook-secret-Zq81"
ACCESS_TOKEN = "EAAGwhatsappAccessToken0123456789"
APP_SECRET = "run-test-app-secret"  # the one tests.channels.test_run_channels signs with
VERIFY_TOKEN = "verify-token-Kp27"
SECRET_KEY = "session-signing-key-Yw55"
SECRETS = (BOT_TOKEN, BOT_TOKEN.split(":")[1], WEBHOOK_SECRET, ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, SECRET_KEY)

DATA = Path(__file__).resolve().parents[1] / "channels" / "data" / "whatsapp"


async def _talk_on_telegram(fake: FakeTelegram, chat: int) -> None:
    for text, expected in (("halo", "BPJS"), ("berapa iuran minimal?", "Rp16.800")):
        before = len(fake.messages_to(chat))
        await fake.inject({
            "update_id": fake.next_update_id(),
            "message": {"message_id": before + 1, "date": int(time.time()), "text": text,
                        "chat": {"id": chat, "type": "private", "first_name": "Ani"},
                        "from": {"id": chat, "is_bot": False, "first_name": "Ani"}},
        })  # fmt: skip
        await eventually(lambda: [m for m in fake.messages_to(chat)[before:] if expected in m.text])  # noqa: B023


async def _talk_on_whatsapp(base: str, graph: FakeGraph) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        handshake = await client.get(
            "/webhook/whatsapp",
            params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "7"},
        )
        assert handshake.text == "7"
        # a wrong verify token and a bad signature are logged too, and must not echo what was expected
        await client.get(
            "/webhook/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "7"}
        )
        sample = json.loads((DATA / "text.json").read_text())
        sample["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "berapa iuran minimal?"
        body = json.dumps(sample).encode()
        await client.post("/webhook/whatsapp", content=body, headers={"Content-Type": "application/json"})
        assert (await client.post("/webhook/whatsapp", content=body, headers=signed(body))).status_code == 200
    await eventually(lambda: graph.messages_to("16505551234"))


@pytest.mark.parametrize(("backend", "mode"), [("ptb", "webhook"), ("aiogram", "polling")])
async def test_a_debug_log_of_a_telegram_and_whatsapp_session_holds_no_secret(
    tmp_path: Path, backend: str, mode: str
) -> None:
    fake = await FakeTelegram(token=BOT_TOKEN).start()
    graph = FakeGraph()
    graph_url = await graph.serve()
    port = free_port()
    env = dict(
        BPU_HTTP_PORT=str(port), BPU_SECRET_KEY=SECRET_KEY, BPU_BROADCAST_TICK_SECONDS="0.5",
        TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_BASE_URL=fake.root, TELEGRAM_BACKEND=backend,
        WHATSAPP_ACCESS_TOKEN=ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID="106540352242922", WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN, WHATSAPP_API_BASE_URL=graph_url,
    )  # fmt: skip
    if mode == "webhook":
        env.update(
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhook/telegram", TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET
        )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    environ.update(env, BPU_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}")
    log_file = tmp_path / "run.log"
    # A file, not a pipe: at DEBUG the log outgrows a pipe's buffer and the bot would block on it.
    with log_file.open("w") as sink:
        proc = subprocess.Popen(
            [str(BIN), "run", "--log-level", "debug"],
            cwd=tmp_path,
            env=environ,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, proc)
        await _talk_on_telegram(fake, 4242)
        await _talk_on_whatsapp(base, graph)
        await eventually(lambda: fake.calls_of("getupdates") if mode == "polling" else fake.webhook_url)
        await asyncio.sleep(3.0)  # several scheduler ticks
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.to_thread(proc.wait, timeout=30)
        await fake.stop()
        graph.stop()
    log = log_file.read_text()
    assert "DEBUG" in log, "the run did not log at DEBUG: nothing was tested"
    leaked = [s for s in SECRETS if s in log]
    assert leaked == [], f"secrets in the log: {leaked}"
    assert "Running job" not in log and "executed successfully" not in log


def test_the_filter_hides_secrets_in_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    settings = Settings(
        _env_file=None,
        BPU_SECRET_KEY=SECRET_KEY,
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,  # type: ignore[call-arg]
        WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
    )
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(settings, level=logging.DEBUG, handler=logging.StreamHandler(stream))
        log = logging.getLogger("bpu.test")
        log.debug("POST https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN)
        log.info("verify %s", {"hub.verify_token": VERIFY_TOKEN})
        log.warning("another bot: /bot1234567:AAE%s/getMe", "x" * 30)  # not configured: caught by its shape
        try:
            raise httpx.ConnectError(f"cannot reach https://api.telegram.org/bot{BOT_TOKEN}/getUpdates")
        except httpx.ConnectError:
            log.exception("polling failed with key %s", SECRET_KEY)
        logging.getLogger("httpx").info("HTTP Request: POST .../bot%s/sendMessage", BOT_TOKEN)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    text = stream.getvalue()
    assert "getUpdates" in text and "another bot" in text and "<secret>" in text
    assert not [s for s in (*SECRETS, "AAE" + "x" * 30) if s in text], text
    assert "HTTP Request" not in text  # httpx's per-request line is quieted


def test_json_lines_hold_no_secret_and_no_personal_number() -> None:
    stream = io.StringIO()
    settings = Settings(_env_file=None, BPU_SECRET_KEY=SECRET_KEY, TELEGRAM_BOT_TOKEN=BOT_TOKEN, BPU_LOG_FORMAT="json")  # type: ignore[call-arg]
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(settings, level=logging.DEBUG, handler=logging.StreamHandler(stream))
        log = logging.getLogger("bpu.test")
        log.info("worker wrote %r", "nik saya 3673015508900001, hp 0812-3456-7890, budi@example.com")
        log.debug("POST https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN)
        try:
            raise ValueError("NIK 3673015508900001 rejected")
        except ValueError:
            log.exception("failed for %s", "0812-3456-7890")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    assert [line["level"] for line in lines] == ["INFO", "DEBUG", "ERROR"]
    assert {"time", "logger", "message"} <= set(lines[0]) and lines[0]["logger"] == "bpu.test"
    text = stream.getvalue()
    for clear in ("3673015508900001", "0812-3456-7890", "budi@example.com", BOT_TOKEN):
        assert clear not in text, clear
    assert "3673**********01" in lines[0]["message"] and "ValueError" in lines[2]["exception"]


async def test_bpu_bot_run_logs_json_lines_only(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    port = free_port()
    environ.update(BPU_HTTP_PORT=str(port), BPU_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
                   BPU_SECRET_KEY=SECRET_KEY, BPU_LOG_FORMAT="json")  # fmt: skip
    log_file = tmp_path / "run.log"
    # The log is stderr; stdout holds the start-up banner, for the person who started the bot.
    with log_file.open("w") as sink:
        proc = subprocess.Popen([str(BIN), "run", "--log-level", "debug"], cwd=tmp_path, env=environ,
                                stdout=subprocess.DEVNULL, stderr=sink, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, proc)
        async with httpx.AsyncClient(base_url=base) as client:
            for text in ("mau daftar", "setuju", "Siti Aminah", "3673015508900001", "bukan tanggal"):
                await client.post("/simulator/api/message", json={"user": "web-json", "text": text})
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.to_thread(proc.wait, timeout=30)
    lines = [line for line in log_file.read_text().splitlines() if line.strip()]
    assert lines, "nothing was logged"
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(p["level"] == "DEBUG" for p in parsed)
    assert "3673015508900001" not in log_file.read_text() and SECRET_KEY not in log_file.read_text()
