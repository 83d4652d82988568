"""kill -9 of the worker process mid-broadcast, then a restart: nobody gets the message twice.

Each trial kills the worker at a different point of a 500-worker broadcast (no clean-up of any
kind), starts another, and counts, per worker: sent once, uncertain (the row may have arrived:
not sent again, see bot/delivery/outbox.py), lost (no message and not counted uncertain) and
doubled. Lost and doubled must be 0, and uncertain at most what can be in flight at a kill:
the rate for one second plus the worker's in-flight limit. 3 trials in the default run, 10 in
the slow one (BPU_TEST_SLOW=1, or `-m slow`).
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.worker import MAX_INFLIGHT
from storage.campaign_models import INTERRUPTED, SENT, UNCERTAIN
from storage.db import Database
from tests.channels.fake_telegram import FakeTelegram
from tests.delivery.helpers import make_broadcast, rows, seed_contacts

ROOT = Path(__file__).resolve().parents[2]
N = 500
RATE = 200  # sends per second: a broadcast takes under 3 s, so a trial costs a few seconds
# What may be under way at a kill (the bound): a second of sends plus the requests the
# lane lets run at once. Below N, so the check can fail: at 300/s it would have been all 500.
IN_FLIGHT_BOUND = RATE * 1 + MAX_INFLIGHT
assert IN_FLIGHT_BOUND < N


def _spawn(db_url: str, root: str, *args: str, rate: int = RATE) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.delivery.worker_proc", db_url, root, str(rate), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.002)


@dataclass
class Trial:
    killed_after: int  # messages the fake had when the kill came
    sent_once: int
    uncertain: int
    uncertain_delivered: int  # of the uncertain, how many the fake did get (the rest never left)
    lost: int
    doubled: int

    def line(self, label: str) -> str:
        return (f"{label}: killed after {self.killed_after} sends; sent once {self.sent_once}, uncertain"
                f" {self.uncertain} (of which delivered {self.uncertain_delivered}), lost {self.lost},"
                f" doubled {self.doubled}")  # fmt: skip


async def _trial(db: Database, db_url: str, fake: FakeTelegram, contacts: list[int], kill_at: int) -> Trial:
    fake.sent.clear()
    bid = await make_broadcast(db)
    first = _spawn(db_url, fake.root)
    try:
        _wait_for(lambda: len(fake.sent) >= kill_at, 30)
    finally:
        os.kill(first.pid, signal.SIGKILL)  # no clean-up of any kind
        first.wait(10)
    killed_after = len(fake.sent)
    assert 0 < killed_after < N, "killed mid-broadcast"
    second = _spawn(db_url, fake.root, "--exit-when-idle")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    got = collections.Counter(m.chat_id for m in fake.sent)
    final = await rows(db, bid)
    assert len(final) == N
    chat_of = {c: 100_000 + i for i, c in enumerate(contacts)}  # seed_contacts' external ids
    uncertain = [r for r in final if r.state == UNCERTAIN]
    assert all(r.reason == INTERRUPTED for r in uncertain)
    uncertain_chats = {chat_of[r.contact_id] for r in uncertain}
    sent_chats = {chat_of[r.contact_id] for r in final if r.state == SENT}
    assert len(sent_chats) + len(uncertain_chats) == N, collections.Counter(r.state for r in final)
    return Trial(
        killed_after=killed_after,
        sent_once=sum(1 for c in sent_chats if got[c] == 1),
        uncertain=len(uncertain_chats),
        uncertain_delivered=sum(1 for c in uncertain_chats if got[c]),
        lost=sum(1 for c in sent_chats if got[c] == 0),
        doubled=sum(1 for n in got.values() if n > 1),
    )


async def _trials(db: Database, db_url: str, fake: FakeTelegram, n: int, capsys: Any) -> list[Trial]:
    contacts = await seed_contacts(db, N)
    results = []
    for i in range(n):
        kill_at = int(N * (0.15 + 0.7 * i / max(n - 1, 1)))  # from early to late in the broadcast
        trial = await _trial(db, db_url, fake, contacts, kill_at)
        with capsys.disabled():
            print("\n" + trial.line(f"{db_url.split(':')[0]} trial {i + 1}/{n}"), end="")
        results.append(trial)
    for t in results:
        assert (t.doubled, t.lost) == (0, 0), t
        assert t.sent_once + t.uncertain == N, t
        assert t.uncertain <= IN_FLIGHT_BOUND, t
    return results


async def test_kill_9_mid_broadcast_then_restart(db, db_url, threaded_tg, capsys) -> None:
    await _trials(db, db_url, threaded_tg, 3, capsys)


@pytest.mark.slow
async def test_kill_9_mid_broadcast_ten_trials(db, db_url, threaded_tg, capsys, request) -> None:
    if os.environ.get("BPU_TEST_SLOW") != "1" and "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow: run with BPU_TEST_SLOW=1 or -m slow")
    await _trials(db, db_url, threaded_tg, 10, capsys)


@pytest.mark.postgres
async def test_two_worker_processes_on_postgres(db, db_url, threaded_tg) -> None:
    if not db_url.startswith("postgres"):
        pytest.skip("two processes share the outbox on PostgreSQL; SQLite has one delivery process")
    fake = threaded_tg
    await seed_contacts(db, 600)
    bid = await make_broadcast(db)
    procs = [_spawn(db_url, fake.root, "--scheduler", "--exit-when-idle", rate=150) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    got = collections.Counter(m.chat_id for m in fake.sent)
    assert len(got) == 600 and set(got.values()) == {1}
    assert {r.state for r in await rows(db, bid)} == {SENT}
    sent_by = [int(out.split("idle ")[1]) for out, _ in outputs]
    assert all(n > 0 for n in sent_by), sent_by  # both delivered
    # While both ran, exactly one ran the scheduler (the other takes over when it ends).
    at_start = [out.split("scheduler ")[1].split()[0] for out, _ in outputs]
    assert sorted(at_start) == ["leader", "standby"], outputs
