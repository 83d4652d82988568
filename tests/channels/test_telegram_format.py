"""Table tests of what both Telegram backends share: HTML, splitting, keyboards, update decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace as NS

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.telegram import common as tg
from bot.channels.telegram.format import MAX_TEXT, render, split_text, to_html, utf16_len
from handlers.messages import Button, Kind, Reply


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("plain", "plain"),
        ("*Rp16.800* per bulan", "<b>Rp16.800</b> per bulan"),
        ("_Bukan Penerima Upah_", "<i>Bukan Penerima Upah</i>"),
        ("*tebal* dan _miring_", "<b>tebal</b> dan <i>miring</i>"),
        ("*_keduanya_*", "<b><i>keduanya</i></b>"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ("<b>typed</b>", "&lt;b&gt;typed&lt;/b&gt;"),
        ("*<script>*", "<b>&lt;script&gt;</b>"),
        ("snake_case_name", "snake_case_name"),
        ("2*3*4 = 24", "2*3*4 = 24"),
        ("a * b * c", "a * b * c"),
        ("* not bold*", "* not bold*"),
        ("*two\nlines*", "*two\nlines*"),
        ("lone * and _", "lone * and _"),
        ("quote \"x\" and 'y'", "quote \"x\" and 'y'"),
        ("(*JMO*)", "(<b>JMO</b>)"),
        ("🙂 *emoji* ✅", "🙂 <b>emoji</b> ✅"),
    ],
)
def test_to_html(text: str, html: str) -> None:
    assert to_html(text) == html


@pytest.mark.parametrize(
    ("text", "limit", "parts"),
    [
        ("short", 10, ["short"]),
        ("aaaa bbbb cccc", 10, ["aaaa bbbb", "cccc"]),
        ("para one\n\npara two", 12, ["para one", "para two"]),
        ("line one\nline two x", 12, ["line one", "line two x"]),
        ("x" * 25, 10, ["x" * 10, "x" * 10, "x" * 5]),
        ("🙂" * 6, 5, ["🙂🙂", "🙂🙂", "🙂🙂"]),  # UTF-16: an emoji counts twice and is never halved
    ],
)
def test_split_text(text: str, limit: int, parts: list[str]) -> None:
    assert split_text(text, limit) == parts


@given(st.text(alphabet=st.sampled_from("ab \n*_🙂<&"), max_size=400), st.integers(8, 60))
def test_split_never_exceeds_limit_and_keeps_words(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(utf16_len(p) <= limit for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_render_5000_characters() -> None:
    text = ("Kalimat panjang tentang JKK dan JKM. " * 140).strip()
    parts = render(text)
    assert len(parts) == 2 and all(utf16_len(p) <= MAX_TEXT for p in parts)


def _b(*labels: str) -> tuple[Button, ...]:
    return tuple(Button(label, f"p:{i}") for i, label in enumerate(labels))


def test_inline_keyboard_rows_by_label_length() -> None:
    short = tg.inline_keyboard(_b("Ya", "Tidak", "Batal", "Menu"))
    assert [len(r) for r in short.rows] == [3, 1]
    medium = tg.inline_keyboard(_b("Kecelakaan (JKK)", "Kematian (JKM)", "Hari tua (JHT)"))
    assert [len(r) for r in medium.rows] == [2, 1]
    long = tg.inline_keyboard(_b("Daftar sendiri (JMO) lewat aplikasi", "Ditelepon"))
    assert [len(r) for r in long.rows] == [1, 1]
    assert short.rows[0][0] == ("Ya", "p:0")


def test_callback_data_over_64_bytes_fails_loudly() -> None:
    with pytest.raises(ValueError):
        tg.inline_keyboard([Button("x", "s:" + "9" * 63)])


def test_plan_buttons_on_the_last_part_and_phone_keyboard() -> None:
    replies = [Reply("x " * 3000, buttons=_b("Menu"))]
    out = tg.plan(replies, share_label="Kirim nomor HP saya", reply_keyboard_open=False)
    assert [o.markup is None for o in out] == [True, False]
    phone = tg.plan([Reply("Nomor HP?", buttons=_b("Kembali", "Batal"), request_phone=True)],
                    share_label="Kirim nomor HP saya", reply_keyboard_open=False)  # fmt: skip
    assert phone == [tg.Outgoing("Nomor HP?", tg.ContactKeyboard("Kirim nomor HP saya", (("Kembali", "Batal"),)))]


def test_plan_removes_an_open_reply_keyboard() -> None:
    kb = dict(share_label="S", reply_keyboard_open=True)
    out = tg.plan([Reply("Oke"), Reply("Pilih:", buttons=_b("A"))], **kb)  # type: ignore[arg-type]
    assert out[0].markup == tg.RemoveKeyboard() and isinstance(out[1].markup, tg.InlineKeyboard)
    only = tg.plan([Reply("Pilih:", buttons=_b("A"))], **kb)  # type: ignore[arg-type]
    assert only == [tg.Outgoing("Pilih:", tg.RemoveKeyboard(), then_inline=tg.inline_keyboard(_b("A")))]
    again = tg.plan([Reply("Salah", request_phone=True)], **kb)  # type: ignore[arg-type]
    assert isinstance(again[0].markup, tg.ContactKeyboard)


USER = NS(id=42, first_name="Siti", last_name=None, language_code="id-ID")
WHEN = datetime(2026, 11, 25, tzinfo=UTC)


def _msg(chat_type: str = "private", **fields: object) -> NS:
    base = {name: None for name in ("text", "contact", "sticker", "photo", "voice", "audio", "video_note", "video",
                                    "animation", "document", "venue", "location")}  # fmt: skip
    base.update(fields)
    return NS(chat=NS(id=42 if chat_type == "private" else -5, type=chat_type), from_user=USER, date=WHEN, **base)


def _update(**fields: object) -> NS:
    base = {"message": None, "edited_message": None, "callback_query": None, "my_chat_member": None}
    base.update(fields)
    return NS(update_id=9, **base)


@pytest.mark.parametrize(
    ("update", "kind", "text", "extra"),
    [
        (_update(message=_msg(text="halo")), Kind.TEXT, "halo", {}),
        (_update(message=_msg(text="/menu@bpu_bot")), Kind.TEXT, "/menu", {}),
        (_update(message=_msg(sticker=NS())), Kind.STICKER, None, {}),
        (_update(message=_msg(photo=[NS()])), Kind.PHOTO, None, {}),
        (_update(message=_msg(voice=NS())), Kind.VOICE, None, {}),
        (_update(message=_msg(document=NS())), Kind.DOCUMENT, None, {}),
        (_update(message=_msg(location=NS())), Kind.LOCATION, None, {}),
        (_update(message=_msg()), Kind.UNSUPPORTED, None, {}),
        (_update(edited_message=_msg(text="ubah")), Kind.UNSUPPORTED, None, {}),
        (_update(message=_msg("supergroup", text="halo")), Kind.TEXT, "halo", {"chat": "group"}),
    ],
)
def test_decide_messages(update: NS, kind: Kind, text: str | None, extra: dict[str, str]) -> None:
    inbound = tg.decide(tg.read_update(update))
    assert inbound.message is not None
    assert (inbound.message.kind, inbound.message.text, inbound.message.extra) == (kind, text, extra)
    assert inbound.message.user_id == "42" and inbound.message.update_id == "9"
    assert inbound.message.language_hint == "id" and inbound.message.timestamp == WHEN


@pytest.mark.parametrize(
    ("text", "code"),
    [("/start kampanye_01", "kampanye_01"), ("/start@bpu_bot ojol-2026", "ojol-2026"), ("/start", None),
     ("/start bad code!", None), ("/menu kampanye", None)],
)  # fmt: skip
def test_deep_link_code(text: str, code: str | None) -> None:
    inbound = tg.decide(tg.read_update(_update(message=_msg(text=text))))
    assert inbound.message is not None and inbound.message.start_code == code


def test_contact_only_taken_from_its_owner() -> None:
    own = tg.decide(tg.read_update(_update(message=_msg(contact=NS(phone_number="+628123", user_id=42)))))
    other = tg.decide(tg.read_update(_update(message=_msg(contact=NS(phone_number="+628999", user_id=7)))))
    assert own.message is not None and own.message.contact_phone == "+628123"
    assert other.message is not None and other.message.kind == Kind.CONTACT and other.message.contact_phone is None


def test_callback_and_blocked() -> None:
    query = NS(id="q1", from_user=USER, data="t:benefit_jkk", message=NS(chat=NS(id=42, type="private"), message_id=5))
    inbound = tg.decide(tg.read_update(_update(callback_query=query)))
    assert inbound.callback_id == "q1" and inbound.strip_keyboard_of == 5
    assert inbound.message is not None and inbound.message.payload == "t:benefit_jkk"
    kicked = NS(chat=NS(id=42, type="private"), from_user=USER, new_chat_member=NS(status="kicked"))
    blocked = tg.decide(tg.read_update(_update(my_chat_member=kicked)))
    assert blocked.unreachable and blocked.message is None
