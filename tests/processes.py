"""`bpu-bot` as a separate process in tests: starting it on a free port, waiting until it answers,
stopping it as a person would (Ctrl-C), running one CLI command, and WhatsApp's settings and
signatures for it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.waiting import eventually

BIN = Path(sys.executable).parent / "bpu-bot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[str], seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"bpu-bot run exited: {proc.communicate()}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def run(args: list[str], tmp_path: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "BPU_DATABASE_URL": env.pop("BPU_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}"),
        **env,
    }
    return subprocess.run(
        [str(BIN), *args], input=stdin, capture_output=True, text=True, env=environ, cwd=tmp_path, timeout=120
    )


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

        async def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(proc.communicate())
            try:
                return (await client.get(f"{base}/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(healthy, seconds=60, every=0.2, what=lambda: "bpu-bot run did not become healthy")


async def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    # Off the loop: the fake servers live on it and must keep answering while the bot shuts down.
    out, err = await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    return out


def signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


def both_channels_env(
    telegram: Any, graph_url: str, database_url: str, webhook_secret: str, **extra: str
) -> dict[str, str]:
    """Telegram (webhook mode, against a FakeTelegram) and WhatsApp (against a fake Graph at
    `graph_url`) on, on one database: what several processes behind a proxy share."""
    return {
        **whatsapp_env(graph_url),
        "BPU_DATABASE_URL": database_url,
        "BPU_SECRET_KEY": "several-processes-secret",
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.root,
        "TELEGRAM_WEBHOOK_SECRET": webhook_secret,
        **extra,
    }
