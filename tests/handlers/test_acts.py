"""Dialogue acts: the words of content/lexicon/acts.yaml, read the same at every step of every flow."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers import acts
from storage.models import ConversationState, Lead
from tests.factories import Chat
from tests.forms import NIK, count, fill_to_summary

ACTS = [
    # Indonesian, as typed
    ("iya setuju", "agree"), ("boleh deh", "agree"), ("ya", "agree"), ("oke siap", "agree"), ("Setuju!", "agree"),
    ("iya kak", "agree"), ("sip min", "agree"), ("setjuu", "agree"), ("sudah benar", "agree"),
    ("tidak", "decline"), ("ga mau", "decline"), ("nanti saja", "decline"), ("tidak setuju", "decline"),
    ("gak jadi deh", "cancel"), ("batal aja", "cancel"), ("ok gak jadi", "cancel"), ("gk jd", "cancel"),
    ("ya batal", "cancel"), ("kembali", "back"), ("eh salah", "back"), ("bantuan", "help"), ("bingung", "help"),
    ("?", "help"), ("ubah", "edit"), ("kirim", "send"), ("ya, kirim", "send"),
    # regional
    ("nggih", "agree"), ("muhun", "agree"), ("mboten", "decline"), ("henteu", "decline"),
    # English
    ("Agree", "agree"), ("yes please", "agree"), ("sure", "agree"), ("ok then", "agree"), ("no", "decline"),
    ("no thanks", "decline"), ("cancel", "cancel"), ("never mind", "cancel"), ("go back", "back"),
    ("help", "help"), ("i dont understand", "help"), ("change", "edit"), ("send", "send"), ("send now", "send"),
    # not an act: a sentence, a name, an answer
    ("Budi Santoso", None), ("iya saya mau tanya iuran", None), ("3673015508900001", None), ("2 juta", None),
    ("ya tidak", "decline"), ("", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), ACTS)
def test_act_of_a_reply(text: str, expected: str | None) -> None:
    assert acts.act(text) == expected


def test_a_question_adds_its_own_words() -> None:
    assert acts.act("iya hapus aja") is None  # "hapus" answers only the delete question
    assert acts.act("iya hapus aja", at="delete_confirm") == "agree"
    assert acts.act("delete it", at="delete_confirm") == "agree"
    assert acts.act("berhenti", at="opt_out_confirm") == "agree"


KABKOTA = ["Kota Serang", "Kab. Serang", "Kota Cilegon", "Kab. Pandeglang"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2", 1), ("no 2", 1), ("nomor 3", 2), ("yang kedua", 1), ("pilih yang ketiga", 2), ("the second one", 1),
     ("terakhir", 3), ("the last one", 3), ("kab serang", 1), ("Kota Serang", 0), ("cilegon", 2),
     ("pandeglng", 3), ("serang", None), ("9", None), ("Budi", None)],
)  # fmt: skip
def test_choose_an_option(text: str, expected: int | None) -> None:
    assert acts.choose(text, KABKOTA) == expected


def test_a_bare_number_is_an_answer_where_numbers_are_answers() -> None:
    assert acts.choose("2", ["2 program", "3 program (+JHT)"], numbers=False) is None
    assert acts.choose("dua", ["2 program", "3 program (+JHT)"], numbers=False) is None
    assert acts.choose("yang kedua", ["2 program", "3 program (+JHT)"], numbers=False) == 1


@pytest.mark.parametrize(
    ("text", "bare", "expected"),
    [("nik", True, "nik"), ("nik", False, None), ("ubah nik", False, "nik"), ("ganti penghasilan", False, "income"),
     ("change my phone", False, "phone"), ("ganti no hp", False, "phone"), ("mau ubah tanggal lahir", False, "dob"),
     ("penghasilan", True, "income"), ("Budi", True, None), ("ubah nik dan nama", False, None)],
)  # fmt: skip
def test_field_to_change(text: str, bare: bool, expected: str | None) -> None:
    assert acts.field(text, bare=bare) == expected


def test_control_words_in_both_languages() -> None:
    assert acts.control("STOP!") == "stop" and acts.control("stop messages") == "stop"
    assert acts.control("data sy") == "my_data" and acts.control("my data") == "my_data"
    assert acts.control("ingatkan saya bayar iuran") == "remind" and acts.control("remind me to pay") == "remind"
    assert acts.control("already paid") == "paid" and acts.control("turn off reminders") == "stop_reminder"
    assert acts.control("menu") == "menu" and acts.control("ada menu apa aja") is None


# ---------------------------------------------------------------- through the engine, at each step


async def start_form(chat: Chat) -> None:
    await chat.say("mau daftar")
    assert "setuju" in chat.text.lower()


@pytest.mark.parametrize("typed", ["iya setuju", "boleh deh", "Agree", "ok sip", "nggih"])
async def test_consent_typed_in_words(engine, typed: str) -> None:
    chat = Chat(engine, user=f"consent-{typed}")
    await start_form(chat)
    await chat.say(typed)
    assert "nama lengkap" in chat.text.lower()


async def test_a_name_at_the_consent_question_gets_a_short_reminder_not_the_consent_again(engine) -> None:
    chat = Chat(engine, user="consent-name")
    await start_form(chat)
    consent = chat.text
    await chat.say("Siti Aminah")
    assert "Setuju" in chat.text and len(chat.text) < len(consent) / 2
    assert chat.labels() == ["Setuju", "Tidak setuju"]


@pytest.mark.parametrize("typed", ["gak jadi deh", "batal aja", "never mind", "ok gak jadi"])
async def test_cancel_words_at_a_text_step_are_not_read_as_answers(engine, typed: str) -> None:
    chat = Chat(engine, user=f"cancel-{typed}")
    await start_form(chat)
    await chat.press("Setuju")
    await chat.say("siti aminah")
    await chat.say(NIK)
    await chat.say("15-08-1990")
    await chat.say(typed)  # at the phone step: not a phone number
    assert "dibatalkan" in chat.text.lower() or "batal" in chat.text.lower()
    async with engine.db.session() as s:
        state = await s.scalar(select(ConversationState))
        assert state is not None and not (state.step or "").startswith("form:")


async def test_help_at_a_step_explains_it_and_asks_again(engine) -> None:
    chat = Chat(engine, user="help-nik")
    await start_form(chat)
    await chat.press("Setuju")
    await chat.say("siti aminah")
    await chat.say("bingung")
    assert "16 angka" in chat.text and "NIK" in chat.text and "batal" in chat.text
    await chat.say(NIK)
    assert "tanggal lahir" in chat.text.lower()


async def test_options_by_number_ordinal_and_part_of_a_label(engine) -> None:
    chat = Chat(engine, user="options")
    await start_form(chat)
    await chat.press("Setuju")
    for answer in ("siti aminah", NIK, "15-08-1990", "0812-3456-7890"):
        await chat.say(answer)
    await chat.say("yang pertama")  # Kota Serang, the first kabupaten/kota button
    assert "kecamatan" in chat.text.lower() and "Kota Serang" in chat.text
    taktakan = next(i for i, label in enumerate(chat.labels()) if label == "Taktakan")
    await chat.say(str(taktakan + 1))
    assert "pekerjaan" in chat.text.lower()
    await chat.say("pedagang")
    await chat.say("2jt 3 program")  # the income and the programmes in one line
    assert "didatangi" in chat.text.lower() or "ditelepon" in chat.text.lower()
    await chat.say("yang kedua")
    assert "Rp2.000.000" in chat.text and "3 program" in chat.text.lower()


@pytest.mark.parametrize(("typed", "field", "asks"), [("nik", "nik", "NIK"), ("penghasilan", "income", "penghasilan"),
                                                      ("ganti nik", "nik", "NIK"), ("ubah no hp", "phone", "HP")])  # fmt: skip
async def test_a_field_named_at_the_summary_is_edited(engine, typed: str, field: str, asks: str) -> None:
    chat = Chat(engine, user=f"edit-{typed}")
    await fill_to_summary(chat)
    await chat.say("ubah")
    assert "bagian mana" in chat.text.lower()
    await chat.say(typed)
    assert asks.lower() in chat.text.lower() and "Siti Aminah" not in chat.text
    async with engine.db.session() as s:
        state = await s.scalar(select(ConversationState))
        assert state is not None and state.step == f"form:{field}"


async def test_a_field_named_with_a_verb_mid_form_goes_back_to_it(engine) -> None:
    chat = Chat(engine, user="edit-mid")
    await start_form(chat)
    await chat.press("Setuju")
    await chat.say("siti aminah")
    await chat.say(NIK)
    await chat.say("ganti nama")
    assert "nama lengkap" in chat.text.lower()
    await chat.say("Siti Rahma")
    # The form was not finished: it goes on at the first question not answered yet.
    assert "tanggal lahir" in chat.text.lower()
    for answer in ("15-08-1990", "0812-3456-7890", "Kota Serang", "taktakan", "pedagang", "1,5 jt", "2", "ditelepon"):
        await chat.say(answer)
    assert "Siti Rahma" in chat.text and "Kirim" in chat.labels()


# ---------------------------------------------------------------- the other questions


@pytest.mark.parametrize("typed", ["iya hapus aja", "ya hapus", "yes delete it", "hapus"])
async def test_delete_confirmed_in_words(engine, typed: str) -> None:
    chat = Chat(engine, user=f"del-{typed}")
    await fill_to_summary(chat)
    await chat.press("Kirim")
    await chat.say("hapus data saya")
    assert "Ya, hapus" in chat.labels()
    await chat.say(typed)
    assert await count(engine, Lead) == 0


@pytest.mark.parametrize("typed", ["gak jadi deh", "tidak", "no"])
async def test_delete_declined_in_words(engine, typed: str) -> None:
    chat = Chat(engine, user=f"keep-{typed}")
    await fill_to_summary(chat)
    await chat.press("Kirim")
    await chat.say("hapus data saya")
    await chat.say(typed)
    assert await count(engine, Lead) == 1


@pytest.mark.parametrize(("typed", "stopped"), [("iya", True), ("ya berhenti", True), ("gak jadi", False),
                                                ("tidak", False)])  # fmt: skip
async def test_opt_out_question_answered_in_words(engine, typed: str, stopped: bool) -> None:
    from handlers import rights
    from storage.models import Contact

    chat = Chat(engine, user=f"optout-{typed}")
    await chat.say("halo")
    await chat.say("saya tidak mau dapat pesan dari bot ini lagi")
    async with engine.db.session() as s:
        state = await s.scalar(select(ConversationState))
        assert state is not None and state.step == rights.OPT_OUT_STEP, "the question was not asked"
    await chat.say(typed)
    async with engine.db.session() as s:
        contact = await s.scalar(select(Contact))
        assert contact is not None and (contact.opted_out_at is not None) == stopped


@pytest.mark.parametrize(("typed", "asks_day"), [("boleh deh", True), ("iya", True), ("gak usah", False),
                                                 ("no thanks", False)])  # fmt: skip
async def test_reminder_offer_answered_in_words(engine, typed: str, asks_day: bool) -> None:
    chat = Chat(engine, user=f"offer-{typed}")
    await fill_to_summary(chat)
    await chat.press("Kirim")
    assert "Ya, ingatkan" in chat.labels()
    await chat.say(typed)
    assert ("tanggal" in chat.text.lower()) == asks_day


async def test_the_english_form_takes_labels_and_amounts(engine) -> None:
    chat = Chat(engine, user="en-form", language_hint="en")
    await chat.say("english")
    await chat.say("i want to register")
    await chat.say("Agree")
    for answer in ("Budi Santoso", NIK, "15-08-1990", "0812-3456-7890", "the first one", "taktakan"):
        await chat.say(answer)
    assert "job" in chat.text.lower() or "work" in chat.text.lower()
    await chat.say("small business")
    assert "income" in chat.text.lower()
    await chat.say("5 million")
    assert "programme" in chat.text.lower()
    await chat.say("the second one")
    await chat.say("a phone call")
    assert "Rp5.000.000" in chat.text and "Send" in chat.labels()


@pytest.mark.parametrize(("typed", "monthly", "said"), [("sehari 100rb", "Rp2.600.000", "26 hari"),
                                                        ("seminggu 500rb", "Rp2.000.000", "4 minggu")])  # fmt: skip
async def test_income_per_day_or_week_at_the_form_says_the_month_it_counts(engine, typed, monthly, said) -> None:
    chat = Chat(engine, user=f"income-{typed}")
    await start_form(chat)
    await chat.press("Setuju")
    for answer in ("siti aminah", NIK, "15-08-1990", "0812-3456-7890", "Kota Serang", "taktakan", "pedagang"):
        await chat.say(answer)
    await chat.say(typed)
    assert monthly in chat.text and said in chat.text and "program" in chat.text.lower()


@pytest.mark.parametrize(("typed", "expected"), [("iuran kalau sehari 100rb berapa", "Rp2.600.000"),
                                                 ("berapa iuran 2jt 3 program", "Rp2.000.000")])  # fmt: skip
async def test_income_entities_in_a_question(engine, typed: str, expected: str) -> None:
    chat = Chat(engine, user=f"q-{typed}")
    await chat.say(typed)
    assert expected in chat.text and "Rp2.003.000" not in chat.text


async def test_minimum_wage_asks_for_the_figure(engine) -> None:
    chat = Chat(engine, user="umr")
    await chat.say("berapa iuran kalau penghasilan 3 juta")
    await chat.say("kalau gaji umr berapa iurannya")
    assert "UMR" in chat.text and "Rp3.000.000" not in chat.text


# ---------------------------------------------------------------- every act at every step, both languages

ANSWERS = {"name": "Siti Aminah", "nik": NIK, "dob": "15-08-1990", "phone": "0812-3456-7890", "kabkota": "Kota Serang",
           "kecamatan": "taktakan", "occupation": "pedagang", "income": "1,5 jt", "programmes": "2",
           "continue": "ditelepon"}  # fmt: skip
EN_ANSWERS = {"occupation": "trader", "continue": "a phone call"}
WORDS = {"id": {"help": "bingung", "back": "eh salah", "cancel": "gak jadi deh"},
         "en": {"help": "i dont understand", "back": "go back", "cancel": "never mind"}}  # fmt: skip


async def _step(engine, user: str) -> str | None:
    async with engine.db.session() as s:
        from storage.models import Contact

        contact = await s.scalar(select(Contact).where(Contact.external_id == user))
        state = await s.get(ConversationState, contact.id) if contact else None
        return state.step if state else None


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("step", list(ANSWERS)[1:] + ["summary"])
async def test_help_back_and_cancel_at_every_step(engine, step: str, lang: str) -> None:
    from handlers.lead_steps import STEPS

    user = f"every-{step}-{lang}"
    chat = Chat(engine, user=user)
    await chat.say("i want to register" if lang == "en" else "mau daftar")
    await chat.say("Agree" if lang == "en" else "Setuju")
    answers = {**ANSWERS, **(EN_ANSWERS if lang == "en" else {})}
    for name, answer in answers.items():
        if name == step:
            break
        await chat.say(answer)
    assert await _step(engine, user) == f"form:{step}"
    words = WORDS[lang]
    await chat.say(words["help"])
    assert await _step(engine, user) == f"form:{step}" and ("cancel" if lang == "en" else "batal") in chat.text
    await chat.say(words["back"])
    previous = STEPS[STEPS.index(step) - 1]
    assert await _step(engine, user) == f"form:{previous}"
    await chat.say(answers[previous])
    assert await _step(engine, user) == f"form:{step}"
    await chat.say(words["cancel"])
    assert await _step(engine, user) is None


@pytest.mark.parametrize(("question", "answer"), [("what is jht", "JHT"), ("jht itu apa", "JHT")])
async def test_what_is_after_a_quote_explains_instead_of_pricing(engine, question: str, answer: str) -> None:
    chat = Chat(engine, user=f"what-{question}")
    await chat.say("berapa iuran kalau penghasilan 2 juta")
    await chat.say(question)
    assert "hari tua" in chat.text.lower() or "old age" in chat.text.lower()
    assert "Rp" not in chat.text.split("\n")[0]  # not a price first


@pytest.mark.parametrize(("typed", "control"), [("delete all my data", "delete"), ("remove me", "delete"),
                                                ("switch to english", "english"), ("indonesian please", "indonesian")])  # fmt: skip
def test_english_control_words(typed: str, control: str) -> None:
    assert acts.control(typed) == control


async def test_a_price_question_mid_form_does_not_ask_for_an_income_before_the_forms_question(engine) -> None:
    chat = Chat(engine, user="midform-price")
    await start_form(chat)
    await chat.press("Setuju")
    await chat.say("berapa iuran paling murah?")
    assert "Rp16.800" in chat.text and "Tulis penghasilan" not in chat.text
    assert "nama lengkap" in chat.text.lower()  # the form's question, last


async def test_a_numbered_menu_answers_only_the_next_message(engine) -> None:
    """A channel keeps the numbered options it showed in the conversation state (any process can
    read them); the engine forgets them at the next message, whatever it is."""
    from handlers.messages import NUMBERED_MENU

    chat = Chat(engine, user="menu-forget")
    await chat.say("halo")
    async with engine.db.session() as s:
        state = await s.scalar(select(ConversationState))
        assert state is not None
        state.data = {**state.data, NUMBERED_MENU: [["Anyer", "f:kecamatan:360401"]]}
    await chat.say("berapa iuran minimal?")
    async with engine.db.session() as s:
        state = await s.scalar(select(ConversationState))
        assert state is not None and NUMBERED_MENU not in state.data
