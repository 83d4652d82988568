"""WhatsApp formatting rules: split long text, cut titles, buttons -> reply buttons / list / numbered menu."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.whatsapp.format import (
    BODY_LIMIT,
    LIST_BUTTON,
    TEXT_LIMIT,
    cut_title,
    render,
    split_text,
)
from handlers.messages import Button, Reply


def _buttons(*labels: str) -> tuple[Button, ...]:
    return tuple(Button(label, f"p:{i}") for i, label in enumerate(labels))


def test_plain_text_is_one_text_message_with_markup_kept() -> None:
    rendered = render(Reply("*Iuran* mulai _Rp16.800_"))
    assert rendered.messages == [{"type": "text", "text": {"body": "*Iuran* mulai _Rp16.800_", "preview_url": False}}]
    assert rendered.menu is None


def test_text_above_4096_is_split_between_paragraphs() -> None:
    paragraphs = [f"Paragraf {i}. " + "kata " * 150 for i in range(12)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    chunks = split_text(text)
    assert len(text) > TEXT_LIMIT and len(chunks) > 1
    assert all(len(c) <= TEXT_LIMIT for c in chunks)
    assert all(c.startswith("Paragraf") for c in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())


@given(st.text(alphabet=st.sampled_from("ab \n"), min_size=1, max_size=9000))
def test_split_never_exceeds_the_limit_and_loses_no_word(text: str) -> None:
    chunks = split_text(text, 500)
    assert all(0 < len(c) <= 500 for c in chunks)
    if text.split():
        assert " ".join(chunks).split() == text.split()


def test_up_to_three_options_are_reply_buttons() -> None:
    rendered = render(Reply("Setuju?", _buttons("Setuju", "Tidak setuju")))
    (message,) = rendered.messages
    interactive = message["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"] == {"text": "Setuju?"}
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": "p:0", "title": "Setuju"},
        {"id": "p:1", "title": "Tidak setuju"},
    ]


def test_four_to_ten_options_are_a_list() -> None:
    labels = ["Kota Serang", "Kabupaten Serang", "Pandeglang", "Lebak", "Kota Cilegon", "Kembali", "Batal"]
    (message,) = render(Reply("Kabupaten/kota?", _buttons(*labels))).messages
    interactive = message["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == LIST_BUTTON and len(LIST_BUTTON) <= 20
    rows = interactive["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == labels
    assert all("description" not in r for r in rows)


def test_more_than_ten_options_are_a_numbered_menu() -> None:
    labels = [f"Kecamatan {i}" for i in range(1, 30)]
    rendered = render(Reply("Kecamatan?", _buttons(*labels)))
    (message,) = rendered.messages
    body = message["text"]["body"]
    assert body.startswith("Kecamatan?")
    assert "*1.* Kecamatan 1" in body and "*29.* Kecamatan 29" in body
    assert rendered.menu is not None and [b.label for b in rendered.menu] == labels


def test_long_list_titles_are_cut_and_the_full_label_goes_in_the_description() -> None:
    labels = ["Ojek / ojol / kurir / sopir", "Pedagang (keliling / warung / pasar)", "Petani / buruh tani", "Nelayan"]
    (message,) = render(Reply("Pekerjaan?", _buttons(*labels))).messages
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0] == {"id": "p:0", "title": "Ojek / ojol / kurir…", "description": labels[0]}
    assert rows[1]["title"] == "Pedagang" and rows[1]["description"] == labels[1]
    assert rows[2] == {"id": "p:2", "title": "Petani / buruh tani"}


def test_cut_title_keeps_words_whole() -> None:
    assert cut_title("Daftar sendiri (JMO)", 20) == "Daftar sendiri (JMO)"
    assert cut_title("Bicara langsung dengan petugas kantor", 20) == "Bicara langsung…"
    assert cut_title("3 program lengkap (+JHT)", 20) == "3 program lengkap"
    assert cut_title("Supercalifragilisticexpialidocious", 20) == "Supercalifragilisti…"
    for label in ("a" * 40, "kata " * 10, "x (y) " * 9):
        assert len(cut_title(label, 20)) <= 20


def test_button_titles_that_collide_when_cut_fall_back_to_a_list() -> None:
    labels = ("Hitung iuran dengan JHT sekarang", "Hitung iuran dengan JKK sekarang")
    (message,) = render(Reply("Pilih", _buttons(*labels))).messages
    assert message["interactive"]["type"] == "list"
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert len({r["title"] for r in rows}) == 2


def test_long_text_with_buttons_sends_the_text_first_and_the_last_part_with_the_buttons() -> None:
    text = "\n\n".join(f"Bagian {i}: " + "isi " * 60 for i in range(8))
    messages = render(Reply(text, _buttons("Ya", "Tidak"))).messages
    assert [m["type"] for m in messages] == ["text", "interactive"]
    body = messages[-1]["interactive"]["body"]["text"]
    assert len(body) <= BODY_LIMIT and body.startswith("Bagian")
    assert " ".join((messages[0]["text"]["body"] + " " + body).split()) == " ".join(text.split())


def test_an_intro_ending_in_a_colon_stays_with_what_it_introduces() -> None:
    # "Cara klaim:" alone in a bubble, its three kinds in the next, reads as a broken message.
    kinds = "\n\n".join(f"*Jenis {i}:* " + "isi " * 60 for i in range(4))
    text = "Cara klaim tergantung jenisnya:\n\n" + kinds
    assert len(text) > BODY_LIMIT
    messages = render(Reply(text, _buttons("Ya", "Tidak"))).messages
    head, body = messages[0]["text"]["body"], messages[-1]["interactive"]["body"]["text"]
    assert head.startswith("Cara klaim tergantung jenisnya:\n\n*Jenis 0:*") and body.startswith("*Jenis")
    assert len(body) <= BODY_LIMIT


def test_payloads_too_long_for_ids_use_the_numbered_menu() -> None:
    rendered = render(Reply("Pilih", (Button("A", "x" * 300), Button("B", "y"))))
    assert rendered.messages[0]["type"] == "text"
    assert rendered.menu is not None
