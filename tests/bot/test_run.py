"""`bpu-bot run` with nothing configured: serves health and the simulator, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.processes import BIN, free_port, wait_for


def test_run_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.update(BPU_HTTP_PORT=str(port), BPU_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}")
    proc = subprocess.Popen(
        [str(BIN), "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        health = wait_for(f"http://127.0.0.1:{port}/healthz", proc)
        assert health.status_code == 200 and health.json()["database"] == "ok"
        page = httpx.get(f"http://127.0.0.1:{port}/simulator")
        assert page.status_code == 200
        reply = httpx.post(f"http://127.0.0.1:{port}/simulator/api/message", json={"user": "t", "text": "halo"})
        assert "BPJS" in reply.text
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}/simulator" in out
    assert "telegram:  off (set TELEGRAM_BOT_TOKEN" in out and "whatsapp:  off" in out
    assert "/setup?token=" in out and "bpu-bot staff add --name NAME --role admin --password" in out
    assert "bpu-bot stopped." in out
    assert "Traceback" not in err
