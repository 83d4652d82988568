"""/healthz tells the truth about delivery: a lane failing for minutes, or due messages that
nobody sends, turn it to 503 with the reason; a failing lane logs once a minute, not per claim."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from bot.delivery.health import LaneHealth
from bot.delivery.scheduler import CampaignScheduler
from bot.delivery.service import Campaigns
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from storage.campaign_models import OutboxRow
from tests.conftest import Clock, RunningClock
from tests.delivery.conftest import make_worker
from tests.delivery.helpers import T0, make_broadcast, run_worker, seed_contacts
from tests.waiting import eventually


async def _healthz(db: Any, cipher: Any, engine: Any, worker: Any) -> httpx.Response:
    runtime = Runtime(Settings(_env_file=None, BPU_DATABASE_URL=db.url), db, cipher, engine)  # type: ignore[call-arg]
    runtime.campaigns = Campaigns(worker, CampaignScheduler(db), db)
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        return await client.get("/healthz")


async def test_a_lane_failing_for_minutes_is_a_503_with_its_cause(db, cipher, engine, fake_tg) -> None:
    clock = RunningClock(T0)
    await seed_contacts(db, 3)
    await make_broadcast(db)
    fake_tg.fail("sendMessage", 500, times=1000)  # the platform is down
    worker = make_worker(db, fake_tg, clock=clock)
    await worker.start()
    try:

        def errors_at_least(n: int) -> Any:
            def check() -> bool:
                worker.wake()
                return worker.lane_health["telegram"].consecutive_errors >= n

            return check

        await eventually(errors_at_least(3), seconds=10, every=0.01)  # the first errors, at T0
        response = await _healthz(db, cipher, engine, worker)
        assert response.status_code == 200, response.json()  # failing, but for seconds only
        lane = response.json()["lanes"]["telegram"]
        assert (
            lane["status"] == "ok" and lane["consecutive_errors"] >= 3 and "Internal Server Error" in lane["last_error"]
        )

        since = worker.lane_health["telegram"].failing_since
        assert since is not None
        clock.now = since + timedelta(minutes=6, seconds=30)  # still failing six minutes on: retries come due, fail
        errors = worker.lane_health["telegram"].consecutive_errors
        await eventually(errors_at_least(errors + 1), seconds=10, every=0.01)
        response = await _healthz(db, cipher, engine, worker)
        body = response.json()
        assert response.status_code == 503, body
        assert body["status"] == "degraded"
        assert body["lanes"]["telegram"]["status"] == "failing"
        assert any(p.startswith("telegram lane: failing for 6 min") for p in body["problems"]), body["problems"]
    finally:
        await worker.stop()

    # The platform is back: the next send succeeds and the lane is healthy again.
    fake_tg.faults.clear()
    async with db.session() as session:
        await session.execute(update(OutboxRow).where(OutboxRow.state == "queued").values(not_before=clock.now))
    worker = make_worker(db, fake_tg, clock=clock)
    await run_worker(worker)
    response = await _healthz(db, cipher, engine, worker)
    assert response.status_code == 200, response.json()
    assert response.json()["lanes"]["telegram"]["last_success"] is not None


async def test_due_messages_nobody_sends_are_a_503(db, cipher, engine, fake_tg) -> None:
    clock = Clock(T0 + timedelta(minutes=20))
    await seed_contacts(db, 2)
    await make_broadcast(db, T0)  # due since T0, twenty minutes ago
    worker = make_worker(db, fake_tg, clock=clock)  # built, never started: nothing sends
    response = await _healthz(db, cipher, engine, worker)
    body = response.json()
    assert response.status_code == 503, body
    lane = body["lanes"]["telegram"]
    assert (lane["backlog"], lane["oldest_due_age_seconds"]) == (2, 1200.0)
    assert body["problems"] == ["telegram lane: due messages waiting for 20 min and nothing sent meanwhile"]

    await run_worker(worker)  # the worker runs: they go out, health is back
    assert len(fake_tg.sent) == 2
    response = await _healthz(db, cipher, engine, worker)
    assert response.status_code == 200, response.json()
    assert response.json()["lanes"]["telegram"]["backlog"] == 0


async def test_a_paced_campaign_with_old_due_rows_is_healthy_while_it_sends() -> None:
    lane = LaneHealth()
    now = T0 + timedelta(minutes=40)
    lane.success(now - timedelta(seconds=2))
    assert lane.problem(now, oldest_due=T0) is None  # rows due for 40 min, but sending all the time


def test_a_failing_lane_logs_once_a_minute() -> None:
    lane = LaneHealth()
    said = [lane.error(T0 + timedelta(seconds=s), "send: Internal Server Error") for s in range(0, 150)]
    assert [i for i, yes in enumerate(said) if yes] == [0, 60, 120]
    assert lane.take_unlogged() == 150 and lane.take_unlogged() == 0
    lane.success(T0 + timedelta(seconds=151), "database")
    assert lane.failing_since is not None  # the platform errors go on: a claim that works says nothing of them
    lane.success(T0 + timedelta(seconds=151))
    assert lane.error(T0 + timedelta(seconds=152), "again")  # a new failure is said at once
