"""Conversations through the engine, as a worker would hold them (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from handlers.messages import Kind
from handlers.nlu import Prediction
from tests.channels.contract import INTENT_SAMPLES
from tests.factories import Chat


async def test_greeting_shows_the_menu(engine) -> None:
    chat = Chat(engine)
    await chat.say("halo")
    assert "BPJS Ketenagakerjaan" in chat.text
    assert {"Manfaat", "Hitung iuran", "Daftar"} <= set(chat.labels())


@pytest.mark.parametrize("intent", sorted(INTENT_SAMPLES))
async def test_every_intent_gets_its_answer(engine, intent: str) -> None:
    text, expected = INTENT_SAMPLES[intent]
    chat = Chat(engine, user=f"w-{intent}")
    await chat.say(text)
    assert expected in chat.text.replace("*", "")


async def test_minimum_contribution_with_relief_and_its_end(engine) -> None:
    chat = Chat(engine)
    await chat.say("berapa iuran minimal?")
    text = chat.text.replace("*", "")
    assert "Rp16.800" in text and "Rp8.400" in text and "31 Desember 2026" in text
    assert "31 Maret 2027" in text  # transport workers' longer window


async def test_minimum_contribution_outside_the_windows_has_no_relief(engine, clock) -> None:
    from datetime import UTC, datetime

    clock.now = datetime(2027, 6, 1, 3, tzinfo=UTC)
    chat = Chat(engine)
    await chat.say("berapa iuran minimal?")
    assert "Rp16.800" in chat.text and "Rp8.400" not in chat.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("berapa iuran kalau penghasilan 2 juta", "Rp26.800"),
        ("iuran kalau gaji 1,5jt", "Rp21.800"),
        ("iurannya berapa kalau Rp 1.500.000", "Rp21.800"),
        ("iuran 3 program penghasilan 1 juta", "Rp36.800"),
    ],
)
async def test_calculator_reads_amounts(engine, text: str, expected: str) -> None:
    chat = Chat(engine)
    await chat.say(text)
    assert expected in chat.text.replace("*", "")


async def test_calculator_follow_ups_keep_context(engine) -> None:
    chat = Chat(engine)
    await chat.say("berapa iuran kalau penghasilan 2 juta")
    assert "Rp26.800" in chat.text
    await chat.say("kalau 3 program?")
    assert "Rp66.800" in chat.text  # 20.000 + 6.800 + 40.000
    await chat.say("sy ojol")
    text = chat.text.replace("*", "")
    assert "31 Maret 2027" in text and "Rp53.400" in text  # 10.000 + 3.400 + 40.000
    await chat.press("Tanpa JHT")
    assert "Rp26.800" in chat.text and "Rp13.400" in chat.text


async def test_calculator_below_minimum_explains_it(engine) -> None:
    chat = Chat(engine)
    await chat.say("berapa iuran kalau penghasilan 500rb")
    assert "Rp1.000.000" in chat.text


class UnsureMatcher:
    """Drives the engine's low-confidence branch whatever the trained model says today."""

    def predict(self, text: str) -> Prediction:
        ranking = (("payment", 0.3), ("out_of_scope", 0.25), ("claim", 0.2), ("register", 0.15), ("greet", 0.1))
        return Prediction("payment", 0.3, ranking)


async def test_unsure_offers_topics_and_a_person_and_logs_the_message(db, cipher, clock) -> None:
    from sqlalchemy import select

    from handlers.engine import Engine
    from storage.models import UnansweredMessage

    chat = Chat(Engine(db, cipher, UnsureMatcher(), clock=clock))
    await chat.say("kartu peserta sy 3673015508900001 ilang gmn")
    assert "belum yakin" in chat.text
    assert chat.labels() == ["Cara bayar", "Cara klaim", "Daftar", "Bicara ke petugas"]
    async with db.session() as s:
        logged = (await s.scalars(select(UnansweredMessage))).all()
    assert len(logged) == 1 and "3673015508900001" not in logged[0].text and "3673**********01" in logged[0].text
    await chat.press("Cara klaim")
    assert "klaim" in chat.text


async def test_a_misread_stop_asks_before_silencing(engine) -> None:
    from sqlalchemy import select

    from storage.models import Contact

    chat = Chat(engine)
    await chat.say("tolong jangan kirimi saya pesan promosi lagi")
    assert "berhenti" in chat.text.lower()
    async with engine.db.session() as s:
        assert (await s.scalar(select(Contact))).opted_out_at is None  # type: ignore[union-attr]
    await chat.press("Ya, berhenti")
    async with engine.db.session() as s:
        assert (await s.scalar(select(Contact))).opted_out_at is not None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😀😀😀", "a" * 10_000, "'; DROP TABLE contacts; --", "{{ 7*7 }}", "\u202eمرحبا", "\x00\x07\x1b[31m"],
)
async def test_any_text_gets_a_kind_answer(engine, text: str) -> None:
    chat = Chat(engine)
    replies = await chat.say(text)
    assert replies and all(r.text for r in replies)
    assert "gangguan" not in chat.text  # not the error apology
    if "7*7" in text:
        assert "49" not in chat.text


async def test_jinja_typed_by_a_worker_is_never_evaluated(engine) -> None:
    chat = Chat(engine)
    await chat.say("daftar")
    await chat.press("Setuju")
    await chat.say("{{ 7*7 }}")
    assert "49" not in chat.text


@pytest.mark.parametrize("kind", [Kind.STICKER, Kind.PHOTO, Kind.VOICE, Kind.DOCUMENT, Kind.LOCATION, Kind.VIDEO])
async def test_media_gets_a_kind_answer(engine, kind: Kind) -> None:
    chat = Chat(engine)
    await chat.send(kind=kind, text=None)
    assert chat.text and "gangguan" not in chat.text


async def test_replayed_update_is_answered_once(engine) -> None:
    chat = Chat(engine)
    first = await chat.send(text="halo", update_id="same-1")
    again = await chat.send(text="halo", update_id="same-1")
    assert first and again == []


async def test_button_from_an_old_message_is_handled(engine) -> None:
    chat = Chat(engine)
    await chat.say("daftar")
    await chat.press("Setuju")
    await chat.press_payload("f:consent:yes")  # the consent button again, now stale
    assert "tidak berlaku" in chat.text and "nama" in chat.text.lower()
    await chat.press_payload("zz:unknown")
    assert "tidak berlaku" in chat.text


async def test_english(engine) -> None:
    chat = Chat(engine)
    await chat.say("english")
    await chat.say("iuran minimal?")  # the words the English answers name: no sign of another language
    assert "Rp16.800" in chat.text and "month" in chat.text
    await chat.say("berapa iuran minimal?")  # clearly Indonesian: answered in Indonesian
    assert "Rp16.800" in chat.text and "bulan" in chat.text
