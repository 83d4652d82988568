"""The WhatsApp channel end to end: signed webhook POSTs in, a Graph API server of our own out.

Webhook bodies are Meta's documented samples (tests/channels/data/whatsapp/*.json, shapes and
values from the Cloud API "messages webhook reference") with the sender, wamid and text set per
message, signed with a test app secret. Replies are read from what the fake Graph server on
loopback received. The full contract runs on SQLite; a subset also runs on PostgreSQL.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.channels.whatsapp import format as whatsapp_format
from bot.channels.whatsapp.channel import WhatsAppChannel, make_whatsapp_channel
from bot.channels.whatsapp.window import can_send_free_form
from bot.http import create_app
from bot.runtime import Runtime, build_channels
from bot.settings import Settings, TemplateConfig
from storage import outbound
from storage.models import Contact, InboundUpdate
from storage.outbound import OutboundMessage, WebhookInbox
from tests.channels import contract
from tests.channels.data.whatsapp.driver import (
    MEDIA_SAMPLES,
    SQLITE_ONLY,
    VERIFY_TOKEN,
    WhatsAppDriver,
    _settings,
    sample,
    sign,
)
from tests.channels.fake_graph import FakeGraph


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    fake.start_in_thread()
    yield fake
    fake.stop()


@pytest.fixture
async def wa(
    db_url: str, db: Any, cipher: Any, engine: Any, graph: FakeGraph, clock: Any
) -> AsyncIterator[WhatsAppDriver]:
    graph.clear()
    runtime = Runtime(_settings(db_url, graph), db, cipher, engine)
    channel = make_whatsapp_channel(runtime.deps, retry_delays=(0.01, 0.01, 0.01), pair_delay=0.01)
    runtime.channels = [channel]
    app = create_app(runtime)
    await channel.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        yield WhatsAppDriver(client, channel, graph, clock)
    await channel.stop()


async def _count(db: Any, model: Any) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _outbound(db: Any) -> list[OutboundMessage]:
    async with db.session() as session:
        return list((await session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))).all())


# -- the contract ---------------------------------------------------------------------------


async def test_contract_subset_on_every_database(wa: WhatsAppDriver) -> None:
    await contract.scenario_replay(wa)
    await contract.scenario_media(wa)
    await contract.scenario_rights(wa)


# -- webhook security and delivery ------------------------------------------------------------


async def test_handshake_right_and_wrong(wa: WhatsAppDriver) -> None:
    ok = await wa.client.get(
        "/webhook/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ):
        assert (await wa.client.get("/webhook/whatsapp", params=params)).status_code == 403


async def test_missing_or_bad_signature_is_refused_and_nothing_happens(wa: WhatsAppDriver, db: Any) -> None:
    raw = json.dumps(wa.body("text", "w-sig", text={"body": "halo"})).encode()
    assert (await wa.post(raw, signature=None)).status_code == 401
    assert (await wa.post(raw, signature="sha256=" + "0" * 64)).status_code == 403
    assert (await wa.post(raw, signature=sign(raw, "another-secret"))).status_code == 403
    assert (await wa.post(raw + b" ", signature=sign(raw))).status_code == 403
    await wa.channel.drain()
    assert wa.graph.sent == []
    for model in (InboundUpdate, WebhookInbox, Contact):
        assert await _count(db, model) == 0


async def test_database_that_cannot_take_the_update_gets_503(wa: WhatsAppDriver, tmp_path: Path) -> None:
    from storage.db import Database

    broken = Database(f"sqlite:///{tmp_path}/missing-dir/none.db")
    wa.channel.db = broken
    try:
        raw = json.dumps(wa.body("text", "w-503", text={"body": "halo"})).encode()
        response = await wa.post(raw)
        assert response.status_code == 503
        await wa.channel.drain()
        assert wa.graph.sent == []
    finally:
        await broken.dispose()


@SQLITE_ONLY
async def test_replayed_wamid_in_another_batch_is_answered_once(wa: WhatsAppDriver, db: Any) -> None:
    body = wa.body("text", "w-replay", text={"body": "halo"})
    assert await wa.deliver("w-replay", body)
    # Meta redelivers the message inside a batch with another one: only the new one is answered.
    second = wa.body("text", "w-replay", text={"body": "makasih"})
    value = second["entry"][0]["changes"][0]["value"]
    value["messages"].insert(0, body["entry"][0]["changes"][0]["value"]["messages"][0])
    bubbles = await wa.deliver("w-replay", second)
    assert bubbles and "Sama-sama" in contract.joined(bubbles)
    assert await _count(db, InboundUpdate) == 2
    assert await _count(db, WebhookInbox) == 0  # handled notifications leave the inbox


@SQLITE_ONLY
async def test_an_answer_is_one_interactive_message(wa: WhatsAppDriver) -> None:
    """One notification per answer: text and options in one interactive message, its body within
    WhatsApp's 1,024 characters; the longest answer (JKK, with the death example) too."""
    longest = "kalo meninggal gara2 kecelakaan kerja dpt brp?"  # JKK, with the death example
    for text, words in (("halo", "BPJS Ketenagakerjaan"), (longest, "tanpa batas")):
        start = len(wa.graph.sent)
        bubbles = await wa.deliver("w-one", wa.body("text", "w-one", text={"body": text}))
        sent = [s.body for s in wa.graph.sent[start:] if s.recipient == wa.wa_id("w-one")]
        assert len(bubbles) == 1 and words in bubbles[0].text and bubbles[0].buttons, (text, bubbles)
        assert len(sent) == 1 and sent[0]["type"] == "interactive"
        assert "\n\n" in sent[0]["interactive"]["body"]["text"]  # the paragraphs, a blank line apart
        assert len(sent[0]["interactive"]["body"]["text"]) <= whatsapp_format.BODY_LIMIT


@SQLITE_ONLY
async def test_every_non_text_type_gets_a_kind_answer(wa: WhatsAppDriver) -> None:
    for kind, name in MEDIA_SAMPLES.items():
        bubbles = await wa.deliver("w-media", wa.body(name, "w-media"))
        assert bubbles and "Silakan ketik" in contract.joined(bubbles), kind
    assert await wa.deliver("w-media", wa.body("reaction", "w-media")) == []


@SQLITE_ONLY
async def test_template_quick_reply_button_is_a_button_press(wa: WhatsAppDriver) -> None:
    body = wa.body("template_button", "w-tpl", button={"payload": "menu", "text": "Menu"})
    bubbles = await wa.deliver("w-tpl", body)
    assert bubbles and "Manfaat" in bubbles[-1].buttons


@SQLITE_ONLY
async def test_users_with_a_bsuid_are_keyed_and_answered_by_it(wa: WhatsAppDriver, db: Any) -> None:
    bsuid = "ID.1502576394655843"
    body = wa.body("text_bsuid", "w-bsuid")
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"] = bsuid
    await wa.post(json.dumps(body).encode())
    await wa.channel.drain()
    (sent, *_) = [s for s in wa.graph.sent if s.body.get("recipient") == bsuid]
    assert "to" not in sent.body
    assert wa.graph.sent[0].authorization == "Bearer test-access-token"
    async with db.session() as session:
        (contact,) = (await session.scalars(select(Contact))).all()
    assert contact.external_id == bsuid


@SQLITE_ONLY
async def test_numbered_menu_beyond_ten_options_is_answered_by_number(wa: WhatsAppDriver) -> None:
    user = "w-menu"
    await wa.send_text(user, "mau daftar")
    await wa.press(user, "Setuju")
    await wa.send_text(user, "Siti Aminah")
    await wa.send_text(user, "3673015508900001")
    await wa.send_text(user, "15-08-1990")
    await wa.share_contact(user, "")
    bubbles = await wa.press(user, "Kab. Serang")
    options = wa.history[user][-1].options
    assert len(options) > 10 and {o.how for o in options} == {"number"}
    assert "Ketik angkanya" in contract.joined(bubbles)
    number = next(o.id for o in options if o.label == "Kramatwatu")
    answer = contract.plain(contract.joined(await wa.send_text(user, number)))
    assert "pekerjaan" in answer.lower()
    # A number typed when no numbered menu is showing is just text.
    assert "NIK" not in answer


# -- statuses ------------------------------------------------------------------------------


async def test_statuses_in_any_order_end_at_the_furthest_and_failures_stay(wa: WhatsAppDriver, db: Any) -> None:
    await wa.send_text("w-status", "halo")
    wamids = [s.wamid for s in wa.graph.sent if s.wamid]
    assert wamids
    rows = await _outbound(db)
    assert [r.platform_message_id for r in rows] == wamids and {r.status for r in rows} == {"accepted"}
    assert {r.purpose for r in rows} == {"reply"} and all(r.contact_id for r in rows)
    first = wamids[0]
    await wa.post_statuses((first, "read", None), (first, "sent", None))
    await wa.post_statuses((first, "delivered", None))
    assert (await _outbound(db))[0].status == "read"
    await wa.post_statuses((first, "failed", 131000))
    await wa.post_statuses((first, "delivered", None))
    row = (await _outbound(db))[0]
    assert (row.status, row.error_code) == ("failed", 131000)
    # A status for a message not recorded yet is kept and merged when the send is recorded.
    await wa.post_statuses(("wamid.EARLY", "delivered", None))
    async with db.session() as session:
        await outbound.record_sent(
            session, channel="whatsapp", contact_id=None, platform_message_id="wamid.EARLY",
            purpose="broadcast", status="accepted",
        )  # fmt: skip
        early = await outbound.get_outbound(session, "whatsapp", "wamid.EARLY")
        assert early is not None and (early.status, early.purpose) == ("delivered", "broadcast")


@SQLITE_ONLY
async def test_failed_statuses_say_what_they_mean(wa: WhatsAppDriver, db: Any) -> None:
    await wa.send_text("w-fail", "halo")
    await wa.send_text("w-fail", "makasih")  # one message per answer: a second answer, a second wamid
    wamids = [s.wamid for s in wa.graph.sent if s.wamid]
    assert len(wamids) >= 2
    await wa.post_statuses((wamids[0], "failed", 131026))
    rows = await _outbound(db)
    assert (rows[0].status, rows[0].error_code) == ("undeliverable", 131026)
    async with db.session() as session:
        contact = await session.scalar(select(Contact))
        assert contact is not None and contact.unreachable_at is not None
    body = sample("status_failed")  # Meta's sample: 131047, re-engagement
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamids[-1]
    await wa.post(json.dumps(body).encode())
    await wa.channel.drain()
    rows = await _outbound(db)
    assert (rows[-1].status, rows[-1].error_code) == ("needs_template", 131047)


def test_status_order_rules() -> None:
    merge = outbound.merge_status
    assert merge("accepted", "sent") == "sent"
    assert merge("read", "delivered") == "read" and merge("read", "sent") == "read"
    assert merge("delivered", "failed") == "failed" and merge("failed", "read") == "failed"
    assert merge("needs_template", "sent") == "needs_template"


# -- sending errors --------------------------------------------------------------------------


@SQLITE_ONLY
async def test_send_errors_are_handled_as_what_they_mean(wa: WhatsAppDriver, db: Any) -> None:
    user = "w-errors"
    wa_id = wa.wa_id(user)
    wa.graph.fail_next(130429, to=wa_id)  # throughput: wait, then retry
    wa.graph.fail_next(131056, to=wa_id)  # pair rate: wait for this user, then retry
    assert await wa.send_text(user, "halo")
    assert {r.status for r in await _outbound(db)} == {"accepted"}

    wa.graph.fail_next(130429, times=10, to=wa_id)  # it does not pass: recorded as failed, with the code
    assert await wa.send_text(user, "makasih") == []
    failed = [r for r in await _outbound(db) if r.status == "failed"]
    assert failed and failed[0].error_code == 130429 and failed[0].platform_message_id is None
    wa.graph.clear()

    wa.graph.fail_next(131026, to=wa_id)  # undeliverable: stop sending to them
    await wa.send_text(user, "halo")
    rows = await _outbound(db)
    assert rows[-1].status == "undeliverable"
    async with db.session() as session:
        contact = await session.scalar(select(Contact).where(Contact.external_id == wa_id))
        assert contact is not None and contact.unreachable_at is not None


# -- the 24-hour window and templates -----------------------------------------------------------


def test_window_is_24_hours_from_the_last_inbound(clock: Any) -> None:
    now = clock()
    assert not can_send_free_form(None, now)
    assert not can_send_free_form(Contact(last_inbound_at=None), now)
    assert can_send_free_form(Contact(last_inbound_at=now - timedelta(hours=23, minutes=59)), now)
    assert not can_send_free_form(Contact(last_inbound_at=now - timedelta(hours=24)), now)
    assert can_send_free_form(Contact(last_inbound_at=(now - timedelta(hours=1)).replace(tzinfo=None)), now)


def _templates(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], env_file: Path | None = None) -> Settings:
    """Settings as `bpu-bot run` reads them, with only these WHATSAPP_TEMPLATE_* in the environment."""
    for key in [k for k in os.environ if k.upper().startswith("WHATSAPP_TEMPLATE_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=env_file)  # type: ignore[call-arg]


def test_templates_are_configured_per_purpose(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"WHATSAPP_TEMPLATE_REMINDER": "iuran_reminder_v1:id", "WHATSAPP_TEMPLATE_BROADCAST": "kabar_bpu:en_US"}
    templates = _templates(monkeypatch, env).whatsapp_templates
    assert templates["reminder"] == TemplateConfig(name="iuran_reminder_v1", language="id")
    assert templates["broadcast"].message(["Siti"]) == {
        "type": "template",
        "template": {
            "name": "kabar_bpu",
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Siti"}]}],
        },
    }
    assert _templates(monkeypatch, {}).whatsapp_templates == {}
    # A bad value stops the start, and the message names the variable.
    with pytest.raises(ValueError, match="WHATSAPP_TEMPLATE_REMINDER: expected name:language"):
        _templates(monkeypatch, {"WHATSAPP_TEMPLATE_REMINDER": "no language"})
    with pytest.raises(ValueError, match="WHATSAPP_TEMPLATE_BROADCAST"):
        _templates(monkeypatch, {"WHATSAPP_TEMPLATE_BROADCAST": "Kabar BPU:id"})


def test_templates_come_from_env_file_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WHATSAPP_TEMPLATE_REMINDER=dari_berkas:id\nWHATSAPP_TEMPLATE_BROADCAST=kabar_bpu:id\n")
    settings = _templates(monkeypatch, {"WHATSAPP_TEMPLATE_REMINDER": "dari_lingkungan:id"}, env_file)
    assert settings.whatsapp_templates == {
        "reminder": TemplateConfig(name="dari_lingkungan", language="id"),  # the environment, variable by variable
        "broadcast": TemplateConfig(name="kabar_bpu", language="id"),  # .env alone
    }
    env_file.write_text("WHATSAPP_TEMPLATE_HANDOVER_REPLY=no language\n")
    with pytest.raises(ValueError, match="WHATSAPP_TEMPLATE_HANDOVER_REPLY"):
        _templates(monkeypatch, {}, env_file)


async def test_the_channel_takes_its_templates_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, db_url: str, db: Any, cipher: Any, engine: Any, graph: FakeGraph
) -> None:
    monkeypatch.setenv("WHATSAPP_TEMPLATE_HANDOVER_REPLY", "balasan_petugas:id")
    runtime = Runtime(_settings(db_url, graph), db, cipher, engine)  # read once, as at start
    monkeypatch.delenv("WHATSAPP_TEMPLATE_HANDOVER_REPLY")  # the channel does not read the environment again
    channel = make_whatsapp_channel(runtime.deps)
    try:
        assert channel.templates == {"handover_reply": TemplateConfig(name="balasan_petugas", language="id")}
    finally:
        await channel.stop()


@SQLITE_ONLY
async def test_notify_uses_free_form_inside_the_window_and_a_template_outside(
    wa: WhatsAppDriver, db: Any, clock: Any
) -> None:
    user = "w-window"
    wa_id = wa.wa_id(user)
    await wa.send_text(user, "halo")
    wa.graph.clear()

    inside = await wa.channel.notify(wa_id, "reminder", "Iuran jatuh tempo besok.", ["Siti"])
    assert inside.ok and wa.graph.sent[-1].body["type"] == "text"

    clock.now += timedelta(hours=25)
    missing = await wa.channel.notify(wa_id, "reminder", "Iuran jatuh tempo besok.", ["Siti"])
    assert missing.status == "needs_template" and len(wa.graph.sent) == 1  # nothing sent, but recorded
    wa.channel.templates = {"reminder": TemplateConfig(name="iuran_reminder_v1", language="id")}
    templated = await wa.channel.notify(wa_id, "reminder", "Iuran jatuh tempo besok.", ["Siti"])
    assert templated.ok and wa.graph.sent[-1].body["template"]["name"] == "iuran_reminder_v1"

    # Meta refuses a free-form message with 131047 (its clock, not ours): the template goes instead.
    clock.now -= timedelta(hours=25)
    wa.graph.fail_next(131047, to=wa_id)
    fallback = await wa.channel.notify(wa_id, "reminder", "Iuran jatuh tempo besok.", ["Siti"])
    assert fallback.ok and wa.graph.sent[-1].body["type"] == "template"
    statuses = [(r.purpose, r.status, r.error_code) for r in await _outbound(db) if r.purpose == "reminder"]
    assert statuses == [
        ("reminder", "accepted", None),
        ("reminder", "needs_template", None),
        ("reminder", "accepted", None),
        ("reminder", "needs_template", 131047),
        ("reminder", "accepted", None),
    ]


# -- wiring ------------------------------------------------------------------------------------


@SQLITE_ONLY
async def test_inbox_left_by_a_crash_is_handled_on_start(
    db_url: str, db: Any, cipher: Any, engine: Any, graph: FakeGraph, clock: Any
) -> None:
    graph.clear()
    runtime = Runtime(_settings(db_url, graph), db, cipher, engine)
    (channel,) = [c for c in build_channels(runtime) if c.name == "whatsapp"]
    assert isinstance(channel, WhatsAppChannel) and graph.base_url in channel.describe()
    body = sample("text")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "halo"
    async with db.session() as session:
        session.add(WebhookInbox(channel="whatsapp", body=cipher.encrypt(json.dumps(body))))
    await channel.start()
    await channel.drain()
    await channel.stop()
    await channel.stop()  # safe twice
    assert graph.messages_to("16505551234")
    assert await _count(db, WebhookInbox) == 0
