"""`bpu-bot chat` opening a conversation: the greeting in a terminal, and `/start CODE`
(typed, or `--start CODE`) recorded as a Telegram deep link's code is."""

from __future__ import annotations

import os
import pty
import select
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.processes import BIN, run


def _campaign_code(tmp_path: Path, user: str) -> str | None:
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        row = conn.execute(
            "SELECT campaign_code FROM contacts WHERE channel = 'console' AND external_id = ?", (user,)
        ).fetchone()
    assert row is not None, f"no contact {user}"
    return row[0]


def test_start_code_typed_or_given_is_recorded(tmp_path: Path) -> None:
    typed = run(["chat", "--user", "camp"], tmp_path, "/start pasar-rau\n")
    assert typed.returncode == 0, typed.stderr
    assert typed.stdout.count("Halo") == 1  # through a pipe, only what was sent is answered
    assert _campaign_code(tmp_path, "camp") == "pasar-rau"

    given = run(["chat", "--user", "ojol", "--start", "ojol-2026"], tmp_path, "")
    assert given.returncode == 0 and "Halo" in given.stdout, given.stderr
    assert _campaign_code(tmp_path, "ojol") == "ojol-2026"

    bad = run(["chat", "--start", "bad code!"], tmp_path, "")
    assert bad.returncode == 2 and "campaign or referral code" in bad.stderr


def _in_a_terminal(tmp_path: Path, user: str) -> str:
    """`bpu-bot chat` on a pseudo-terminal, until its first prompt; then Ctrl-D."""
    env = {**os.environ, "BPU_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    main, other = pty.openpty()
    proc = subprocess.Popen(
        [str(BIN), "chat", "--user", user], stdin=other, stdout=other, stderr=other, cwd=tmp_path, env=env
    )
    os.close(other)
    out = b""
    deadline = time.monotonic() + 60
    try:
        while not out.endswith(b"> ") and time.monotonic() < deadline:
            if select.select([main], [], [], 1)[0]:
                out += os.read(main, 65536)
        os.write(main, b"\x04")  # end of input
        assert proc.wait(timeout=30) == 0, out
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    return out.decode(errors="replace")


def test_a_new_worker_is_greeted_in_a_terminal(tmp_path: Path) -> None:
    first = _in_a_terminal(tmp_path, "tty")
    assert "Halo" in first and "[1] Manfaat" in first, first
    again = _in_a_terminal(tmp_path, "tty")  # a known worker: their conversation goes on untouched
    assert "Halo" not in again, again
