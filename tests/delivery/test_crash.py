"""kill -9 of the worker process mid-broadcast, then a restart: nobody gets the message twice."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.campaign_models import FAILED, INTERRUPTED, SENT
from tests.delivery.helpers import make_broadcast, rows, seed_contacts

ROOT = Path(__file__).resolve().parents[2]
N = 600


def _spawn(db_url: str, root: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.delivery.worker_proc", db_url, root, "150", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.01)


async def test_kill_9_mid_broadcast_then_restart(db, db_url, threaded_tg) -> None:
    fake = threaded_tg
    await seed_contacts(db, N)
    bid = await make_broadcast(db)
    first = _spawn(db_url, fake.root)
    try:
        _wait_for(lambda: len(fake.sent) >= N // 3, 30)
    finally:
        os.kill(first.pid, signal.SIGKILL)  # no clean-up of any kind
        first.wait(10)
    before = len(fake.sent)
    assert 0 < before < N, "killed mid-broadcast"
    second = _spawn(db_url, fake.root, "--exit-when-idle")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    got = collections.Counter(m.chat_id for m in fake.sent)
    final = {r.contact_id: r for r in await rows(db, bid)}
    by_chat = {int(r.platform_message_id.split(":")[0]): r for r in final.values() if r.platform_message_id}
    # At most once, always.
    assert max(got.values()) == 1, [c for c, n in got.items() if n > 1]
    states = collections.Counter((r.state, r.reason) for r in final.values())
    interrupted = [r for r in final.values() if (r.state, r.reason) == (FAILED, INTERRUPTED)]
    # Exactly once for every row that was not caught mid-send. Those are the few in flight at the
    # kill (rate x (round trip + the recorder's 20 ms batching)): never sent again automatically.
    assert states[(SENT, None)] + len(interrupted) == N, states
    assert len(interrupted) <= 20, states
    assert all(got[chat] == 1 for chat in by_chat)
    assert sum(got.values()) in range(N - len(interrupted), N + 1)
    print(f"killed after {before} sends; after restart {sum(got.values())} of {N} delivered once, "
          f"{len(interrupted)} interrupted mid-send (delivered: {sum(got.values()) - states[(SENT, None)]})")  # fmt: skip


@pytest.mark.postgres
async def test_two_worker_processes_on_postgres(db, db_url, threaded_tg) -> None:
    if not db_url.startswith("postgres"):
        pytest.skip("two processes share the outbox on PostgreSQL; SQLite has one delivery process")
    fake = threaded_tg
    await seed_contacts(db, N)
    bid = await make_broadcast(db)
    procs = [_spawn(db_url, fake.root, "--scheduler", "--exit-when-idle") for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    got = collections.Counter(m.chat_id for m in fake.sent)
    assert len(got) == N and set(got.values()) == {1}
    assert {r.state for r in await rows(db, bid)} == {SENT}
    sent_by = [int(out.split("idle ")[1]) for out, _ in outputs]
    assert all(n > 0 for n in sent_by), sent_by  # both delivered
    # While both ran, exactly one ran the scheduler (the other takes over when it ends).
    at_start = [out.split("scheduler ")[1].split()[0] for out, _ in outputs]
    assert sorted(at_start) == ["leader", "standby"], outputs
