"""Issue 11: a send that may have reached the platform is `uncertain`, never sent again on its own.

A slow platform (the fakes answer chosen requests after the client's timeout, having delivered
the message all the same) must not turn 20 slow sends into 40 messages; a connection that never
carried the request (nothing listening) is retried and the message then arrives once; staff may
re-send the uncertain rows, knowingly, with `bpu-bot broadcast resend-uncertain`.
"""

from __future__ import annotations

import asyncio
import collections
import io
import re
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, select, update

from bot import cli_broadcast
from bot.delivery.settings import DeliverySettings
from handlers import broadcasts
from storage.campaign_models import FAILED, INTERRUPTED, NO_ANSWER, QUEUED, SENT, UNCERTAIN, OutboxRow
from storage.migrate import alembic_config
from tests.channels.fake_graph import FakeGraph
from tests.channels.fake_telegram import FakeTelegram
from tests.dashboard.conftest import add_staff, cheap_argon2, client, login, runtime  # noqa: F401 (fixtures)
from tests.delivery.conftest import TOKEN, make_worker
from tests.delivery.helpers import T0, make_broadcast, moving_clock, rows, run_worker, seed_contacts

PHONE_ID = "109876543210"
START = 6281300000000
SEND_TIMEOUT = 0.3  # the client's wait for an answer; the fakes' slow answers come after 1 s
SLOW = 1.0


def settings(**extra: Any) -> DeliverySettings:
    return DeliverySettings(  # type: ignore[call-arg]
        BROADCAST_HEADROOM=0.0, BPU_DELIVERY_RETRY_BASE=0.05, BPU_DELIVERY_RETRY_MAX=0.3,
        BPU_DELIVERY_SEND_TIMEOUT=SEND_TIMEOUT, WHATSAPP_RATE_PER_SECOND=0, WHATSAPP_SECONDS_PER_CHAT=0.2, **extra,
    )  # fmt: skip


def free_port() -> int:
    """A port nothing listens on (yet): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    fake.start_in_thread()
    yield fake
    fake.stop()


def whatsapp_worker(db: Any, engine: Any, cipher: Any, base_url: str, **kw: Any) -> Any:
    from bot.channels.whatsapp.bulk import WhatsAppSender
    from bot.channels.whatsapp.channel import WhatsAppChannel
    from bot.channels.whatsapp.graph import GraphClient
    from bot.delivery.worker import DeliveryWorker

    clock = moving_clock()
    channel = WhatsAppChannel(
        engine=engine, db=db, cipher=cipher, app_secret="app-secret", verify_token="verify",
        graph=GraphClient(base_url, PHONE_ID, "test-access-token", retry_delays=()), clock=clock,
    )  # fmt: skip
    return DeliveryWorker(db, {"whatsapp": WhatsAppSender(channel)}, settings=kw.pop("settings", settings()),
                          clock=clock, quiet=(0, 0), poll=0.05, **kw)  # fmt: skip


async def states(db: Any, bid: int) -> collections.Counter[tuple[str, str | None]]:
    return collections.Counter((r.state, r.reason) for r in await rows(db, bid))


async def status_of(db: Any, bid: int) -> broadcasts.Status:
    async with db.session() as session:
        return await broadcasts.status(session, bid)


def cli(*argv: str) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="bpu-bot")
    cli_broadcast.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


# -- a slow platform --------------------------------------------------------------------------


async def test_slow_bot_api_answers_are_uncertain_never_sent_twice(db, db_url, fake_tg, monkeypatch, capsys) -> None:
    await seed_contacts(db, 30)
    bid = await make_broadcast(db)
    fake_tg.slow("sendMessage", SLOW, times=20)
    worker = make_worker(db, fake_tg, rate=None, settings=settings())
    await run_worker(worker)
    got = collections.Counter(m.chat_id for m in fake_tg.sent)
    doubled = sum(1 for n in got.values() if n > 1)
    found = dict(await states(db, bid))
    with capsys.disabled():
        print(f"telegram, 20 slow of 30: {len(got)} workers got it, {doubled} twice; rows {found}")
    assert len(got) == 30 and doubled == 0
    assert len(fake_tg.calls_of("sendMessage")) == 30  # nothing was asked twice
    assert await states(db, bid) == {(SENT, None): 10, (UNCERTAIN, NO_ANSWER): 20}
    assert worker.stats["telegram"].uncertain == 20
    st = await status_of(db, bid)
    assert (st.counts[SENT], st.uncertain, st.counts.get(FAILED, 0), st.finished) == (10, 20, 0, 30)
    monkeypatch.setenv("BPU_DATABASE_URL", db_url)
    assert await asyncio.to_thread(cli, "broadcast", "status", str(bid)) == 0
    out = capsys.readouterr().out
    assert "uncertain                    20   may have arrived; not resent automatically" in out
    assert "sent                         10" in out


async def test_slow_graph_answers_are_uncertain_never_sent_twice(db, engine, cipher, graph) -> None:
    await seed_contacts(db, 30, channel="whatsapp", start=START, last_inbound_at=T0)
    bid = await make_broadcast(db, channels=("whatsapp",))
    graph.slow_next(SLOW, times=20)
    worker = whatsapp_worker(db, engine, cipher, graph.base_url)
    await run_worker(worker)
    got = collections.Counter(s.recipient for s in graph.sent if s.wamid)
    doubled = sum(1 for n in got.values() if n > 1)
    found = dict(await states(db, bid))
    print(f"whatsapp, 20 slow of 30: {len(got)} workers got it, {doubled} twice; rows {found}")
    assert len(got) == 30 and doubled == 0 and len(graph.sent) == 30
    assert await states(db, bid) == {(SENT, None): 10, (UNCERTAIN, NO_ANSWER): 20}
    st = await status_of(db, bid)
    assert (st.counts[SENT], st.uncertain) == (10, 20)


async def test_graph_client_retries_only_what_cannot_have_arrived(graph) -> None:
    """Live replies go through the GraphClient's own retries: the same rule."""
    from bot.channels.whatsapp.graph import GraphClient

    text = {"type": "text", "text": {"body": "halo"}}
    quick = {"retry_delays": (0.01, 0.01, 0.01), "send_timeout": SEND_TIMEOUT}
    graph_client = GraphClient(graph.base_url, PHONE_ID, "t", **quick)
    try:
        graph.slow_next(SLOW)
        late = await graph_client.send("6281300000001", text)
        assert (late.status, len(graph.sent)) == ("uncertain", 1)  # delivered once, not asked again
        graph.fail_next(131000)  # Meta says it failed: it did not take it, so it goes again
        assert (await graph_client.send("6281300000002", text)).ok and len(graph.sent) == 3
    finally:
        await graph_client.aclose()

    # Nothing listening: refused before the request was written, retried; it arrives once.
    late_graph = FakeGraph()
    port = free_port()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            late_graph.start_in_thread(port)

    base = f"http://127.0.0.1:{port}/v23.0"
    graph_client = GraphClient(base, PHONE_ID, "t", **quick, sleep=sleep)
    try:
        assert (await graph_client.send("6281300000003", text)).ok
        assert len(waits) == 2 and len(late_graph.sent) == 1
    finally:
        await graph_client.aclose()
        late_graph.stop()


async def test_campaign_page_shows_uncertain_apart_and_says_what_it_means(db, fake_tg, client) -> None:  # noqa: F811
    await seed_contacts(db, 5)
    bid = await make_broadcast(db)
    fake_tg.slow("sendMessage", SLOW, times=2)
    await run_worker(make_worker(db, fake_tg, rate=None, settings=settings()))
    await add_staff(db, "Staf Kantor", "staff")
    await login(client, "Staf Kantor")
    html = (await client.get(f"/campaigns/{bid}")).text
    counts = dict(re.findall(r'id="n-(sent|uncertain|failed)">([\d.]+)<', html))
    assert counts == {"sent": "3", "uncertain": "2", "failed": "0"}
    assert "Tidak pasti: mungkin sudah sampai; tidak dikirim ulang otomatis." in html
    assert "platform tidak menjawab tepat waktu: 2" in html
    listing = (await client.get("/campaigns")).text
    assert '<progress max="5" value="5">' in listing  # uncertain rows are finished
    await client.get("/lang?to=en")
    english = (await client.get(f"/campaigns/{bid}")).text
    assert "Uncertain: may have arrived; not resent automatically." in english
    assert "the platform did not answer in time: 2" in english


def test_which_answers_prove_the_platform_did_not_take_it() -> None:
    import httpx

    from bot.channels.telegram.bulk import _bot_api_refused
    from bot.channels.whatsapp.graph import may_have_arrived
    from bot.channels.whatsapp.payloads import ErrorInfo

    envelope = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
    assert _bot_api_refused(500, envelope)  # the Bot API itself says the method failed
    assert not _bot_api_refused(502, {**envelope, "error_code": 502})  # a gateway gave up waiting for it
    assert not _bot_api_refused(500, None)  # not the Bot API's answer (a proxy's page)

    meta_error = ErrorInfo(131000, "Something went wrong")
    assert not may_have_arrived(httpx.Response(500), meta_error)  # Meta's own error: not taken
    assert may_have_arrived(httpx.Response(502), ErrorInfo(None, None))  # a proxy's 502
    assert may_have_arrived(httpx.Response(200))  # accepted, but no wamid to show for it
    assert not may_have_arrived(httpx.Response(400), ErrorInfo(None, None))
    request = httpx.Request("POST", "http://graph.test/messages")
    for error in (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
        assert not may_have_arrived(error("x", request=request))  # raised before the request was written
    for error in (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteTimeout):
        assert may_have_arrived(error("x", request=request))


# -- nothing listening: surely not sent --------------------------------------------------------


async def test_refused_connection_is_retried_then_sent_once_telegram(db) -> None:
    await seed_contacts(db, 5)
    bid = await make_broadcast(db)
    fake = FakeTelegram(TOKEN)
    fake.port = free_port()  # the worker sends there before anything listens
    worker = make_worker(db, fake, rate=None, settings=settings(BPU_DELIVERY_MAX_ATTEMPTS=50))
    await worker.start()
    try:
        await _until_retried(db, bid)
        await fake.start(fake.port)
        await worker.run_until_idle(timeout=20)
    finally:
        await worker.stop()
        await fake.stop()
    got = collections.Counter(m.chat_id for m in fake.sent)
    assert len(got) == 5 and set(got.values()) == {1}
    final = await rows(db, bid)
    assert {r.state for r in final} == {SENT} and max(r.attempts for r in final) > 1


async def test_refused_connection_is_retried_then_sent_once_whatsapp(db, engine, cipher) -> None:
    await seed_contacts(db, 5, channel="whatsapp", start=START, last_inbound_at=T0)
    bid = await make_broadcast(db, channels=("whatsapp",))
    port = free_port()
    graph = FakeGraph()
    worker = whatsapp_worker(db, engine, cipher, f"http://127.0.0.1:{port}/v23.0",
                             settings=settings(BPU_DELIVERY_MAX_ATTEMPTS=50))  # fmt: skip
    await worker.start()
    try:
        await _until_retried(db, bid)
        graph.start_in_thread(port)
        await worker.run_until_idle(timeout=20)
    finally:
        await worker.stop()
        graph.stop()
    got = collections.Counter(s.recipient for s in graph.sent if s.wamid)
    assert len(got) == 5 and set(got.values()) == {1}
    final = await rows(db, bid)
    assert {r.state for r in final} == {SENT} and max(r.attempts for r in final) > 1


async def _until_retried(db: Any, bid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not any(r.attempts >= 1 and r.state == QUEUED for r in await rows(db, bid)):
        assert time.monotonic() < deadline, "no send was refused and queued again"
        await asyncio.sleep(0.02)


# -- staff's decision ----------------------------------------------------------------------------


async def test_resend_uncertain_asks_then_requeues(db, db_url, fake_tg, monkeypatch, capsys) -> None:
    await seed_contacts(db, 6)
    bid = await make_broadcast(db)
    fake_tg.slow("sendMessage", SLOW, times=4)
    await run_worker(make_worker(db, fake_tg, rate=None, settings=settings()))
    assert (await status_of(db, bid)).uncertain == 4
    monkeypatch.setenv("BPU_DATABASE_URL", db_url)

    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # not a terminal: no one confirmed
    assert await asyncio.to_thread(cli, "broadcast", "resend-uncertain", str(bid)) == 1
    captured = capsys.readouterr()
    assert f"broadcast {bid}: 4 uncertain messages" in captured.out
    assert "may already have arrived: those workers may get this message twice" in captured.out
    assert "not sent again" in captured.err
    assert (await status_of(db, bid)).uncertain == 4

    assert await asyncio.to_thread(cli, "broadcast", "resend-uncertain", str(bid), "--yes") == 0
    assert "4 uncertain messages queued again" in capsys.readouterr().out
    assert (await states(db, bid))[(QUEUED, None)] == 4
    await run_worker(make_worker(db, fake_tg, rate=None, settings=settings()))
    assert await states(db, bid) == {(SENT, None): 6}
    got = collections.Counter(m.chat_id for m in fake_tg.sent)
    assert sorted(got.values()) == [1, 1, 2, 2, 2, 2]  # what staff chose: the uncertain ones twice

    # The old name still works, and says it is deprecated.
    assert await asyncio.to_thread(cli, "broadcast", "retry-interrupted", str(bid), "--yes") == 0
    captured = capsys.readouterr()
    assert "deprecated" in captured.err and "no uncertain messages" in captured.out


async def test_migration_turns_interrupted_failures_into_uncertain(db, db_url) -> None:
    contact = (await seed_contacts(db, 1))[0]
    bid = await make_broadcast(db)
    async with db.session() as session:
        await session.execute(update(OutboxRow).values(state=FAILED, reason=INTERRUPTED))
        await session.execute(insert(OutboxRow).values(
            source_key="other", kind="broadcast", broadcast_id=bid, contact_id=contact, channel="telegram",
            state=FAILED, reason="gave_up",
        ))  # fmt: skip
    await db.dispose()
    cfg = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, cfg, "0005")
    await asyncio.to_thread(command.upgrade, cfg, "head")
    async with db.session() as session:
        found = (await session.execute(select(OutboxRow.source_key, OutboxRow.state, OutboxRow.reason))).all()
    assert sorted(found) == [(f"b{bid}", UNCERTAIN, INTERRUPTED), ("other", FAILED, "gave_up")]
