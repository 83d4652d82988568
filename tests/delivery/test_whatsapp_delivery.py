"""Broadcasts through the delivery worker's WhatsApp lane against the loopback Graph API server.

Inside the 24-hour window a worker gets the text itself; outside it, the approved template of
the purpose (WHATSAPP_TEMPLATE_BROADCAST); with none configured the row is skipped `no_template`.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.delivery.ratelimit import ARRIVAL_MARGIN
from bot.settings import TemplateConfig
from storage.campaign_models import NO_TEMPLATE, SENT, SKIPPED, UNREACHABLE
from storage.models import Contact
from tests.channels.fake_graph import FakeGraph
from tests.delivery.helpers import (
    T0,
    make_broadcast,
    max_in_window,
    moving_clock,
    rows,
    run_worker,
    seed_contacts,
)

PHONE_ID = "109876543210"
START = 6281200000000
INSIDE = {"last_inbound_at": T0 - timedelta(hours=2)}
OUTSIDE = {"last_inbound_at": T0 - timedelta(hours=30)}


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """On a thread of its own: the send times it records are not held up by the worker's loop."""
    times: dict[int, float] = {}
    fake = FakeGraph(on_send=lambda sent: times.__setitem__(id(sent), time.monotonic()))
    fake.times = times  # type: ignore[attr-defined]
    fake.start_in_thread()
    yield fake
    fake.stop()


def make_worker(db: Any, engine: Any, cipher: Any, graph: FakeGraph, *, templates: dict[str, str] | None = None,
                settings: Any = None, **kw: Any) -> Any:  # fmt: skip
    from bot.channels.whatsapp.bulk import WhatsAppSender
    from bot.channels.whatsapp.channel import WhatsAppChannel
    from bot.channels.whatsapp.graph import GraphClient
    from bot.delivery.settings import DeliverySettings
    from bot.delivery.worker import DeliveryWorker

    clock = moving_clock()
    channel = WhatsAppChannel(
        engine=engine, db=db, cipher=cipher, app_secret="app-secret", verify_token="verify",
        graph=GraphClient(graph.base_url, PHONE_ID, "test-access-token", retry_delays=()),
        templates={k: TemplateConfig.parse(v) for k, v in (templates or {}).items()}, clock=clock,
    )  # fmt: skip
    settings = settings or DeliverySettings(  # type: ignore[call-arg]
        BROADCAST_HEADROOM=0.0, BPU_DELIVERY_RETRY_BASE=0.05, WHATSAPP_RATE_PER_SECOND=0
    )
    sender = WhatsAppSender(channel, throughput_pause=0.3)
    kw.setdefault("quiet", (0, 0))
    kw.setdefault("poll", 0.05)
    return DeliveryWorker(db, {"whatsapp": sender}, settings=settings, clock=clock, **kw)


async def by_number(db: Any, broadcast_id: int) -> dict[str, tuple[str, str | None]]:
    out = {}
    async with db.session() as session:
        for r in await rows(db, broadcast_id):
            contact = await session.get(Contact, r.contact_id)
            out[contact.external_id] = (r.state, r.reason)
    return out


async def test_window_decides_text_or_template(db: Any, engine: Any, cipher: Any, graph: FakeGraph) -> None:
    await seed_contacts(db, 2, channel="whatsapp", start=START, **INSIDE)
    await seed_contacts(db, 2, channel="whatsapp", start=START + 10, **OUTSIDE)
    await seed_contacts(db, 1, channel="whatsapp", start=START + 20, last_inbound_at=None)  # never wrote
    bid = await make_broadcast(db, channels=("whatsapp",), text="Sosialisasi BPU Sabtu.\nDi kelurahan.")
    await run_worker(make_worker(db, engine, cipher, graph, templates={"broadcast": "kabar_bpu_v2:id"}))
    for n in (START, START + 1):
        [body] = graph.messages_to(str(n))
        assert body["type"] == "text" and body["text"]["body"] == "Sosialisasi BPU Sabtu.\nDi kelurahan."
    for n in (START + 10, START + 11, START + 20):
        [body] = graph.messages_to(str(n))
        assert body["type"] == "template" and body["template"]["name"] == "kabar_bpu_v2"
        assert body["template"]["language"] == {"code": "id"}
        [component] = body["template"]["components"]
        assert component["parameters"] == [{"type": "text", "text": "Sosialisasi BPU Sabtu."}]
    assert {v for v in (await by_number(db, bid)).values()} == {(SENT, None)}
    assert {(s.authorization, s.phone_number_id) for s in graph.sent} == {("Bearer test-access-token", PHONE_ID)}


async def test_outside_the_window_without_a_template_is_skipped(
    db: Any, engine: Any, cipher: Any, graph: FakeGraph
) -> None:
    await seed_contacts(db, 1, channel="whatsapp", start=START, **INSIDE)
    await seed_contacts(db, 2, channel="whatsapp", start=START + 10, **OUTSIDE)
    bid = await make_broadcast(db, channels=("whatsapp",))
    await run_worker(make_worker(db, engine, cipher, graph, templates={"reminder": "iuran_reminder_v1:id"}))
    assert await by_number(db, bid) == {
        str(START): (SENT, None),
        str(START + 10): (SKIPPED, NO_TEMPLATE),
        str(START + 11): (SKIPPED, NO_TEMPLATE),
    }
    assert [s.recipient for s in graph.sent] == [str(START)]  # nothing tried outside the window


async def test_errors_131047_131026(db: Any, engine: Any, cipher: Any, graph: FakeGraph) -> None:
    # 131047 on a free-form send (the window closed meanwhile): the template goes instead, if any.
    await seed_contacts(db, 3, channel="whatsapp", start=START, **INSIDE)
    graph.fail_next(131047, to=str(START))
    graph.fail_next(131026, to=str(START + 1))
    bid = await make_broadcast(db, channels=("whatsapp",))
    await run_worker(make_worker(db, engine, cipher, graph, templates={"broadcast": "kabar_bpu_v2:id"}))
    result = await by_number(db, bid)
    assert result[str(START)] == (SENT, None)
    assert [b["type"] for b in graph.messages_to(str(START))] == ["template"]
    assert result[str(START + 1)] == (SKIPPED, UNREACHABLE)  # not on WhatsApp: not retried
    assert len([s for s in graph.sent if s.recipient == str(START + 1)]) == 1
    assert result[str(START + 2)] == (SENT, None)
    async with db.session() as session:
        contacts = {c.external_id: c for c in (await session.scalars(select(Contact))).all()}
    assert contacts[str(START + 1)].unreachable_at is not None and contacts[str(START)].unreachable_at is None
    # ...and without a template, 131047 leaves the row skipped `no_template`.
    graph.clear()
    await seed_contacts(db, 1, channel="whatsapp", start=START + 50, **INSIDE)
    graph.fail_next(131047, to=str(START + 50))
    bid2 = await make_broadcast(db, channels=("whatsapp",), text="Kabar kedua.")
    await run_worker(make_worker(db, engine, cipher, graph))
    assert (await by_number(db, bid2))[str(START + 50)] == (SKIPPED, NO_TEMPLATE)


async def test_130429_is_retried_without_loss(db: Any, engine: Any, cipher: Any, graph: FakeGraph) -> None:
    await seed_contacts(db, 12, channel="whatsapp", start=START, **INSIDE)
    graph.fail_next(130429, times=5)
    bid = await make_broadcast(db, channels=("whatsapp",))
    worker = make_worker(db, engine, cipher, graph)
    await run_worker(worker)
    delivered = collections.Counter(s.recipient for s in graph.sent if s.wamid)
    assert len(delivered) == 12 and set(delivered.values()) == {1}
    assert {(r.state, r.attempts) for r in await rows(db, bid)} == {(SENT, 1)}  # a 429 is not an attempt
    assert worker.stats["whatsapp"].rate_limited >= 1


async def test_pacing_never_above_whatsapp_rate_per_second(db: Any, engine: Any, cipher: Any, graph: FakeGraph) -> None:
    from bot.delivery.settings import DeliverySettings

    rate = 8
    await seed_contacts(db, 28, channel="whatsapp", start=START, **INSIDE)
    bid = await make_broadcast(db, channels=("whatsapp",))
    settings = DeliverySettings(WHATSAPP_RATE_PER_SECOND=rate, BROADCAST_HEADROOM=0.0)  # type: ignore[call-arg]
    await run_worker(make_worker(db, engine, cipher, graph, settings=settings))
    times = [graph.times[id(s)] for s in graph.sent]  # type: ignore[attr-defined]
    assert len(times) == 28 and max_in_window(times, 1.0 - ARRIVAL_MARGIN) <= rate
    assert max(times) - min(times) >= 28 / rate - 1.2  # paced, not a burst
    assert {r.state for r in await rows(db, bid)} == {SENT}
