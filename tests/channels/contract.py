"""The contract every channel passes: the same conversation, the same answers.

Each channel in bot/channels/registry.py has a driver in tests/channels/data/<name>/driver.py
that talks to the real adapter through the platform's wire format (a fake platform server on
loopback, signed webhooks...); tests/channels/test_contract.py runs this suite over every one
of them. A driver module has `open_driver(env, variant)`, an async context manager yielding a
`ChannelDriver`, `VARIANTS` (Telegram: each library backend and mode) and, when it has no
platform update ids to replay, `REPLAYS = False`. What a driver returns
is what the platform was asked to show the user: bubbles of plain text (markup removed) with
their button labels.

A channel that receives over a webhook with a secret or a signature gives its driver
`send_forged(user, text)`: an update with a wrong one, whose HTTP status it returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Env:
    """What a driver is built from: the test's database, engine and clock."""

    db_url: str
    db: Any
    cipher: Any
    engine: Any
    matcher: Any
    clock: Any


@dataclass
class Bubble:
    text: str
    buttons: list[str] = field(default_factory=list)


class ChannelDriver(Protocol):
    async def send_text(self, user: str, text: str) -> list[Bubble]:
        """Deliver a text message from `user`; return the bubbles sent back (after processing ends)."""
        ...

    async def press(self, user: str, label: str) -> list[Bubble]:
        """Press the button labelled `label` (or starting with it) from the latest bubbles shown to `user`."""
        ...

    async def press_stale(self, user: str, label: str) -> list[Bubble]:
        """Press a button with `label` from an OLDER message of `user` (one the channel already replaced)."""
        ...

    async def share_contact(self, user: str, phone: str) -> list[Bubble]:
        """The platform's own "share my phone number" (Telegram contact; WhatsApp: the phone hint button)."""
        ...

    async def send_media(self, user: str, kind: str) -> list[Bubble]:
        """A sticker, photo, voice note, document or location (`kind` is the Kind value)."""
        ...

    async def replay_last(self, user: str) -> list[Bubble]:
        """Deliver the user's latest update again, with the same platform id."""
        ...


def joined(bubbles: list[Bubble]) -> str:
    return "\n".join(b.text for b in bubbles)


def plain(text: str) -> str:
    """Text as a reader sees it: no *bold*/_italic_ marks, no HTML tags, entities decoded."""
    import html

    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"(?<!\*)\*([^*\n]+)\*(?!\*)", r"\1", html.unescape(text))


INTENT_SAMPLES: dict[str, tuple[str, str]] = {
    # intent: (what a worker types, what must be in the answer)
    "greet": ("halo", "BPJS Ketenagakerjaan"),
    "benefits_overview": ("manfaatnya apa aja?", "JKK"),
    "benefit_jkk": ("kalau kecelakaan kerja dapat apa?", "tanpa batas"),
    "benefit_jkm": ("kalau meninggal dapat santunan berapa?", "Rp42 juta"),
    "benefit_jht": ("jht itu apa?", "tabungan"),
    "contribution": ("berapa iuran minimal?", "Rp16.800"),
    "eligibility": ("sy ojol bisa ikut ga?", "NIK"),
    "payment": ("bayar iurannya lewat mana?", "NIK"),
    "claim": ("gimana cara klaim?", "klaim"),
    "office_contact": ("kantor bpjs dimana?", "175"),
    "human": ("mau bicara dengan petugas", "175"),
    "thanks_bye": ("makasih ya", "Sama-sama"),
    "out_of_scope": ("cara daftar bpjs kesehatan gimana?", "175"),
}


async def scenario_intents(driver: ChannelDriver, user: str = "c-intents") -> None:
    for intent, (text, expected) in INTENT_SAMPLES.items():
        answer = plain(joined(await driver.send_text(user, text)))
        assert expected in answer, f"{intent}: {text!r} -> {answer!r}"


async def scenario_lead_form(driver: ChannelDriver, user: str = "c-form") -> None:
    bubbles = await driver.send_text(user, "mau daftar")
    assert "setuju" in plain(joined(bubbles)).lower()
    await driver.press(user, "Setuju")
    assert "NIK" in plain(joined(await driver.send_text(user, "Siti Aminah")))
    assert "tanggal lahir" in plain(joined(await driver.send_text(user, "3673015508900001"))).lower()
    assert "HP" in plain(joined(await driver.send_text(user, "15-08-1990")))
    assert "kabupaten/kota" in plain(joined(await driver.share_contact(user, "+6281234567890")))
    assert "kecamatan" in plain(joined(await driver.press(user, "Kota Serang")))
    assert "pekerjaan" in plain(joined(await driver.send_text(user, "kec. taktakan")))
    assert "penghasilan" in plain(joined(await driver.press(user, "Pedagang")))
    assert "program" in plain(joined(await driver.send_text(user, "1,5 jt")))
    assert "melanjutkan" in plain(joined(await driver.press(user, "2 program")))
    summary = plain(joined(await driver.press(user, "Ditelepon")))
    assert "3673**********01" in summary and "3673015508900001" not in summary
    assert "Taktakan" in summary and "Rp1.500.000" in summary
    saved = plain(joined(await driver.press(user, "Kirim")))
    assert "sudah kami terima" in saved


async def scenario_stale_button(driver: ChannelDriver, user: str = "c-stale") -> None:
    await driver.send_text(user, "halo")
    await driver.press(user, "Manfaat")
    again = plain(joined(await driver.press_stale(user, "Daftar")))
    # An old menu button still works as a topic; an old form button never changes the form.
    assert again
    await driver.send_text(user, "daftar")
    await driver.press(user, "Setuju")
    stale = plain(joined(await driver.press_stale(user, "Setuju")))
    assert "tidak berlaku" in stale


async def scenario_replay(driver: ChannelDriver, user: str = "c-replay") -> None:
    assert await driver.send_text(user, "berapa iuran minimal?")
    assert await driver.replay_last(user) == []


async def scenario_media(driver: ChannelDriver, user: str = "c-media") -> None:
    for kind in ("sticker", "photo", "voice", "document", "location"):
        answer = plain(joined(await driver.send_media(user, kind)))
        assert answer, kind


async def scenario_rights(driver: ChannelDriver, user: str = "c-rights") -> None:
    assert "tidak akan menerima" in plain(joined(await driver.send_text(user, "berhenti")))
    assert "menerima pengumuman" in plain(joined(await driver.send_text(user, "mulai")))
    assert "Yakin" in plain(joined(await driver.send_text(user, "hapus data saya")))
    assert "sudah kami hapus" in plain(joined(await driver.press(user, "Ya, hapus")))


async def scenario_forged(driver: Any, user: str = "c-forged") -> None:
    """A request with a wrong secret or signature is refused and answered nothing; the next real
    message from that worker is answered as the first one."""
    status = await driver.send_forged(user, "berapa iuran minimal?")
    assert status in (401, 403), status
    first = plain(joined(await driver.send_text(user, "halo")))
    assert "BPJS Ketenagakerjaan" in first


SIXTEEN_DIGITS = re.compile(r"\d{16}")


def assert_redacted(log_text: str) -> None:
    """No NIK (16 digits) in what the channel logged while a worker gave theirs."""
    found = SIXTEEN_DIGITS.findall(log_text)
    assert not found, f"16-digit numbers in the log: {found[:3]}"


async def run_contract(driver: ChannelDriver) -> None:
    """Every scenario the channel can be asked: a driver says `replays = False` (no platform update
    ids: the console), `stale_buttons = False` (only the latest buttons can be pressed) or
    `sends_media = False` (text only: the web simulator, the console) for what its platform lacks."""
    await scenario_intents(driver)
    await scenario_lead_form(driver)
    if getattr(driver, "stale_buttons", True):
        await scenario_stale_button(driver)
    if getattr(driver, "replays", True):
        await scenario_replay(driver)
    if getattr(driver, "sends_media", True):
        await scenario_media(driver)
    await scenario_rights(driver)
