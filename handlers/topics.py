"""Answers to what a worker asks: the menu, each intent, the contribution calculator."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from content.facts import load_facts, relief_window
from content.formatting import juta, month_year
from handlers import calculator, handover, lead_form, misses, occupations, referral, rights
from handlers.due_dates import named_month
from handlers.menu import menu, menu_buttons, topic_button
from handlers.messages import Button
from handlers.nlu import entities
from handlers.nlu.classifier import LOW_CONFIDENCE
from handlers.nlu.normalize import default_normalizer
from handlers.turn import Turn

# Intents answered by a template of the same name and nothing else.
PLAIN = {
    "benefit_jkm",
    "benefit_jht",
    "payment",
    "claim",
    "office_contact",
    "thanks_bye",
}
# Intents answered by a template of the same name with figures worked out for the worker.
WORKED = {"benefits_overview", "benefit_jkk", "eligibility"}
# Follow-ups offered under each answer, so a worker can go on without typing.
NEXT: dict[str, tuple[str, ...]] = {
    "benefits_overview": ("benefit_jkk", "benefit_jkm", "benefit_jht"),
    "benefit_jkk": ("benefit_jkm", "contribution", "register"),
    "benefit_jkm": ("benefit_jkk", "contribution", "register"),
    "benefit_jht": ("contribution", "register"),
    "eligibility": ("contribution", "register"),
    "payment": ("contribution", "register"),
    "claim": ("benefit_jkk", "benefit_jkm", "office_contact"),
    "office_contact": ("register", "human"),
    "out_of_scope": ("benefits_overview", "contribution", "register"),
    # Answers to a precise question, under the intent they belong to.
    "not_for_bpu": ("benefit_jht", "contribution", "register"),
    "lapse": ("payment", "contribution"),
    "payment_due": ("payment", "contribution"),
    "payment_place": ("payment", "contribution"),
    "claim_window": ("claim", "benefit_jkk"),
    "jkk_not_home": ("benefit_jkk", "benefit_jkm"),
    "scholarship": ("benefit_jkk", "benefit_jkm"),
    "contribution_amount": ("contribution", "register"),
}
_EXAMPLE_INCOMES = (1_500_000, 2_000_000, 3_000_000)  # quick answers to "what is your income?"
_SHORT_FOLLOW_UP_WORDS = 6
_WHAT_IS = re.compile(r"\b(?:apa itu|itu apa|apaan|what is|what s|whats|what does|artinya|maksudnya|arti)\b")
_MINIMUM_WAGE = re.compile(r"\b(?:umr|ump|umk|upah minimum|minimum wage|gaji minimum)\b")
_LANGUAGE_ASKED = re.compile(
    r"\b(?:speak|in|bahasa|pakai|pake|use|understand)\s+(english|inggris|indonesia|indonesian)\b"
)
_BARE_LANGUAGE_WORDS = 8
_BARE_FOLLOW_UP_WORDS = 3


def greet(turn: Turn, *, first_time: bool) -> None:
    if turn.contact.opted_out_at is not None and turn.text.strip().lower() == "start":
        # The English stop answer says "type start": typed (not Telegram's /start), it opts back in.
        rights.resume(turn)
        return
    turn.state.topic = None
    turn.say("greet", first_time=first_time, name=turn.contact.display_name, cheapest=_cheapest(turn.today),
             my=_month_words(turn), buttons=menu_buttons(turn))  # fmt: skip


def _cheapest(today: date) -> dict[str, object]:
    """This month's smallest contribution for each sector: the greeting and the overview say
    "from RpX" and must say the price a worker would pay now (one price when both pay the same)."""
    return dict(_cheapest_on(today))  # a copy: the template's context is the caller's


@lru_cache(maxsize=8)  # one day's answer for every greeting of that day (the facts are read once)
def _cheapest_on(today: date) -> dict[str, object]:
    minimum = calculator.minimum_income()
    transport, others = (calculator.quote(minimum, 2, today, sector) for sector in (True, False))
    return {"transport": transport, "others": others, "same": transport.total == others.total}


def set_language(turn: Turn, lang: str) -> None:
    if lang not in ("id", "en"):
        lang = "id"
    turn.contact.language = lang
    turn.intent = "language"
    turn.say("language_set", buttons=menu_buttons(turn))


# ---------------------------------------------------------------- precise questions
#
# The classifier files "bisa ikut jaminan pensiun?" under eligibility and "udah 4 bulan ga bayar,
# kalau kecelakaan ditanggung?" under benefit_jkk: right topic, wrong answer. These cues, read on
# the normalised text, pick the answer a precise question needs; the first that matches wins, so
# the order is part of the rule (a pension question is never answered "you can join").

_WORD = r"(?:^|(?<=\s))"
_END = r"(?=\s|$)"


def _any(*words: str) -> re.Pattern[str]:
    return re.compile(_WORD + "(?:" + "|".join(words) + ")" + _END)


# "pensiun" alone is also being retired ("sy udah pensiun PNS, bisa ikut?"): only the programme counts.
_NOT_FOR_BPU = _any(
    "jp",
    "jkp",
    "pension",
    "pensions",
    "kehilangan pekerjaan",
    "job loss",
    "unemployment benefit",
    r"(?:jaminan|program|dana|uang|tunjangan|iuran|manfaat|dapat|ikut|asuransi|gaji) pensiun",
)
_JHT = _any("jht")
_WITHDRAW = _any(
    "cair",
    "cairkan",
    "dicairkan",
    "cairin",
    "dicairin",
    "pencairan",
    "mencairkan",
    "ambil",
    "diambil",
    "tarik",
    "ditarik",
    "withdraw",
    "withdrawn",
    "take out",
)
_WHEN = _any("kapan", "when", "umur berapa", "usia berapa", "what age")
# How to claim (documents, where, how long) is the claim answer; the JHT answer says when.
_HOW = _any(
    "cara",
    "bagaimana",
    "how",
    "dimana",
    "where",
    "syarat",
    "persyaratan",
    "dokumen",
    "proses",
    "lama",
    "paklaring",
)
_PAY = _any("bayar", "bayarnya", "membayar", "dibayar", "setor", "iuran", "iurannya", "pay", "paying", "paid",
            "payment", "contribution", "contributions")  # fmt: skip
_UNPAID = re.compile(
    _WORD + r"(?:(?:tidak|belum|telat|lupa|nunggak|menunggak|berhenti)(?:\s+\w+){0,3}\s+(?:bayar|membayar|iuran)"
    r"|nunggak|menunggak|tunggakan|tidak aktif|nonaktif|non aktif"
    r"|not paid|unpaid|haven t paid|havent paid|have not paid|didn t pay|did not pay"
    r"|stop paying|stopped paying|missed|lapsed|lapse|inactive|without paying)" + _END
)
_MONTHS_COUNT = re.compile(_WORD + r"(\d{1,2})\s+(?:bulan|months?)" + _END)
_DUE = _any("jatuh tempo", "batas bayar", "batas waktu", "batas pembayaran", "paling lambat",
            "tanggal berapa",
            "deadline", "due", "due date", "telat bayar", "terlambat bayar", "late")  # fmt: skip
_ACCIDENT = _any("kecelakaan", "celaka", "jatuh", "luka", "kecelakaan kerja", "accident", "hurt", "injured",
                 "fell", "ditanggung", "covered", "jkk")  # fmt: skip
_CLAIM = _any("klaim", "claim", "lapor", "laporan", "melapor", "report", "diklaim", "ngeklaim")
_LATE = _any("lalu", "yang lalu", "kemarin", "sudah lewat", "lewat waktu", "kadaluarsa", "kedaluwarsa",
             "kedaluarsa", "batas", "berapa lama", "masih bisa", "telat", "terlambat", "ago", "too late",
             "deadline", "still",
             "expire", "expired", "time limit")  # fmt: skip
_HOME = _any("rumah", "dirumah", "home")
_OFF_DUTY = _any("libur", "cuti", "minggu", "tidak kerja", "tidak bekerja", "bukan kerja", "istirahat",
                 "day off", "off", "weekend", "not working", "holiday")  # fmt: skip
_SCHOLARSHIP = _any("beasiswa", "scholarship", "scholarships", "school grant", "school grants", "biaya sekolah")
_DEATH = _any("meninggal", "wafat", "mati", "tewas", "die", "dies", "died", "death", "passed away")
_DISABLED = _any("cacat", "disabled", "disability", "lumpuh")
# "penyandang cacat bisa ikut?" asks about joining; the JKK answer is for what a disability pays.
_DISABILITY_PAY = _any("total", "tetap", "permanent", "dapat", "berapa", "how much", "santunan", "kecelakaan",
                       "accident", "jkk")  # fmt: skip
_WORK_ACCIDENT = _any("kecelakaan", "kecelakaan kerja", "accident", "work accident", "jkk")
_NOT_ACCIDENT = re.compile(
    _WORD + r"(?:bukan|tidak|not|no)\s+(?:karena\s+|because of\s+|from\s+|a\s+)?(?:kecelakaan|accident)"
)
# "umur 66", "usia 64 tahun", "I'm 70": an age. "40 tahun" alone may be years of membership, so it
# counts only when the question is about joining.
_AGE = re.compile(_WORD + r"(?:umur|usia|umurnya|usianya|age|aged|i m|im|i am)\s+(\d{1,3})" + _END)
_YEARS_OLD = re.compile(_WORD + r"(\d{1,3})\s+(?:tahun|years?\s+old|yo)" + _END)
_JOIN = _any("ikut", "daftar", "mendaftar", "join", "register", "bisa", "boleh", "masih bisa", "eligible")
_PREPAY = re.compile(_WORD + r"(\d{1,2})\s+(?:bulan|months?)" + _END)
_AT_ONCE = _any("sekaligus", "langsung", "dimuka", "di muka", "di depan", "in advance", "upfront", "at once",
                "advance")  # fmt: skip
_YEAR_AT_ONCE = re.compile(_WORD + r"(?:setahun|1 tahun|satu tahun|a year|one year|12 bulan)" + _END)
_THIS_CHAT = _any("sini", "bot", "chat ini", "bot ini", "whatsapp ini", "telegram", "here", "this chat")
_PLACE_WORDS = _any("di", "lewat", "pakai", "via", "ke", "at", "through", "using", "with", "by", "in")
_HOW_MUCH = _any("berapa", "how much", "harga", "biaya", "cost", "price")
_AGE_RANGE = range(15, 121)
_WHERE_HOW = _any("dimana", "di mana", "kemana", "ke mana", "where", "cara", "caranya", "bagaimana", "how",
                  "lewat apa", "lewat mana", "tempat", "tempatnya", "ways", "which way", "apa saja")  # fmt: skip
# "ajak teman", "gimana cara ngajak temen daftar", "invite my friends": the referral invitation.
_INVITE = _any("ajak", "ngajak", "mengajak", "ajakin", "undang", "mengundang", "invite", "refer", "referral",
               "kode ajakan", "link ajakan")  # fmt: skip
_OTHERS = _any("teman", "temen", "kawan", "tetangga", "rekan", "orang lain", "orang", "saudara", "keluarga",
               "friend", "friends", "others", "people", "referral", "kode ajakan", "link ajakan")  # fmt: skip


def _normalise(text: str) -> str:
    # The lexicon reads Sundanese "can" as "belum" (not yet); in "can I ..." it is English.
    return default_normalizer()(re.sub(r"(?i)\bcan(?=\s+(?:i|we|you|my|he|she|they)\b)", "could", text))


@dataclass(frozen=True, slots=True)
class Place:
    names: tuple[str, ...]  # the places of the payment list a worker named
    status: str  # "yes", "not_confirmed" or "no" (this chat)


def payment_place(norm: str) -> Place | None:
    """The payment place a question names, checked against facts.yaml's payment list."""
    if not _PAY.search(norm) or not _PLACE_WORDS.search(norm):
        return None
    payment = load_facts()["payment"]
    listed = {*payment["banks"], *payment["wallets"], *payment["retail"]}
    found: list[str] = []
    for name, words in payment["aliases"].items():
        if any(re.search(_WORD + re.escape(w) + _END, norm) for w in words):
            found.append(name)
    if found:
        confirmed = tuple(n for n in found if n in listed)
        return Place(confirmed, "yes") if confirmed else Place(tuple(found), "not_confirmed")
    if _THIS_CHAT.search(norm) and not payment["this_chat_collects"]:
        return Place((), "no")
    return None


def _stated_amount(money: int, month: date) -> dict[str, object] | None:
    """A contribution figure the bot states ("16800 itu termasuk jht?"), not an income: which
    programmes and price it is, at the minimum income."""
    minimum = calculator.minimum_income()
    for programmes in (2, 3):
        normal = calculator.contribution(minimum, programmes)
        for transport in (False, True):
            relief = calculator.relief_for(normal, month, transport)
            if money in (normal.total, relief.total if relief else None):
                return {
                    "amount": money,
                    "programmes": programmes,
                    "relieved": money != normal.total,
                    "two": calculator.contribution(minimum, 2),
                    "three": calculator.contribution(minimum, 3),
                }
    return None


def _for_occupation(turn: Turn, stated: dict[str, object], month: date) -> dict[str, object]:
    """This month's price for the occupation the message names, and when its relief ended."""
    transport = occupations.is_transport(entities.parse_occupation(turn.text))
    if transport is None:
        return {}
    quote = calculator.quote(calculator.minimum_income(), int(str(stated["programmes"])), month, transport)
    window = relief_window(transport)
    return {"quote": quote, "month": month_year(month, turn.lang), "my": _month_words(turn),
            "ended": window.end if window.end < month else None}  # fmt: skip


async def _precise(turn: Turn, norm: str, intent: str, money: int | None) -> bool:
    """Answer a precise question, or return False for the engine's usual answer."""
    if _NOT_FOR_BPU.search(norm) and not _JHT.search(norm):
        return _say_topic(turn, "not_for_bpu")
    if _JHT.search(norm) and _WITHDRAW.search(norm) and _WHEN.search(norm) and not _HOW.search(norm):
        return _say_topic(turn, "benefit_jht")
    if (
        _UNPAID.search(norm)
        and (_PAY.search(norm) or _ACCIDENT.search(norm) or "aktif" in norm)
        and not _JHT.search(norm)
    ):
        count = _MONTHS_COUNT.search(norm)
        return _say_topic(turn, "lapse", unpaid=int(count.group(1)) if count else None,
                          accident=bool(_ACCIDENT.search(norm)))  # fmt: skip
    if _HOME.search(norm) and _OFF_DUTY.search(norm) and _ACCIDENT.search(norm):
        return _say_topic(turn, "jkk_not_home")
    if (
        _CLAIM.search(norm)
        and _LATE.search(norm)
        and not (_PAY.search(norm) or _JHT.search(norm) or _DEATH.search(norm))
    ):
        return _say_topic(turn, "claim_window")
    if _SCHOLARSHIP.search(norm):
        return _say_topic(turn, "scholarship", levels=load_facts()["benefits"]["scholarship"]["levels"])
    death = _DEATH.search(norm) and _WORK_ACCIDENT.search(norm) and not _NOT_ACCIDENT.search(norm)
    if death or _DISABLED.search(norm) and _DISABILITY_PAY.search(norm):
        return _say_topic(turn, "benefit_jkk", **_jkk_context(turn, money))
    place = payment_place(norm)
    if place is not None:
        return _say_topic(turn, "payment_place", place=place, payment=load_facts()["payment"])
    if _DUE.search(norm) and _PAY.search(norm):
        month = named_month(norm, turn.today) or turn.today.replace(day=1)
        return _say_topic(turn, "payment_due", month=month_year(month, turn.lang), deadline=calculator.due_date(month))
    if money is not None and money < calculator.minimum_income():
        # Below the minimum income and equal to a price the bot states: a price, not an income.
        month = named_month(norm, turn.today) or turn.today.replace(day=1)
        stated = _stated_amount(money, month)
        if stated is not None:
            return _say_topic(turn, "contribution_amount", **stated, **_for_occupation(turn, stated, month))
    age = _age(norm, about_joining=intent in ("eligibility", "register"))
    if age is not None and (intent in ("eligibility", "register") or _JOIN.search(norm)):
        return _say_topic(turn, "eligibility", age=age)
    return False


def _age(norm: str, *, about_joining: bool) -> int | None:
    match = _AGE.search(norm) or (_YEARS_OLD.search(norm) if about_joining else None)
    if match is None:
        return None
    age = int(match.group(1))
    return age if age in _AGE_RANGE else None


def _say_topic(turn: Turn, topic: str, **context: Any) -> bool:
    turn.intent = turn.intent or topic
    turn.state.topic = topic
    buttons = [topic_button(turn, nxt) for nxt in NEXT.get(topic, ())]
    buttons.append(turn.button("menu", "menu"))
    turn.say(topic, buttons=buttons, **context)
    return True


def _jkk_context(turn: Turn, money: int | None) -> dict[str, Any]:
    """The JKK death and disability amounts for the worker's income (said or remembered), else
    for the minimum income as an example."""
    remembered = (turn.data.get("calc") or {}).get("income")
    minimum = calculator.minimum_income()
    income = money if money is not None and money >= minimum else remembered
    known = income is not None and income >= minimum
    base = int(income) if known and income is not None else minimum
    return {"death": calculator.death_by_accident(base), "disability": calculator.total_disability(base),
            "income_known": known}  # fmt: skip


def _worked(turn: Turn, intent: str) -> dict[str, Any]:
    if intent == "benefit_jkk":
        return _jkk_context(turn, None)
    if intent == "benefits_overview":
        return {"cheapest": _cheapest(turn.today), "my": _month_words(turn)}
    return {}


async def understand(turn: Turn) -> None:
    if (turn.state.step or "").startswith("handover:") and await handover.answer(turn):
        return
    text = turn.text
    asked = _LANGUAGE_ASKED.search(text.lower()) if len(text.split()) <= _BARE_LANGUAGE_WORDS else None
    if asked:
        # "hi, do you speak english?": the question is the language; "bisa bahasa indonesia?" too.
        set_language(turn, "id" if asked.group(1) in ("indonesia", "indonesian") else "en")
        return
    prediction = turn.services.matcher.predict(text)
    money = entities.parse_money(text)
    programmes = entities.parse_programmes(text)
    occupation = entities.parse_occupation(text)
    norm = _normalise(text)
    month = named_month(norm, turn.today)
    short = len(text.split()) <= _SHORT_FOLLOW_UP_WORDS
    unsure = prediction.confidence < LOW_CONFIDENCE

    if _INVITE.search(norm) and _OTHERS.search(norm):
        await referral.invite(turn)
        return
    agency = misses.agency_of(text)
    if agency is not None:
        await misses.agency(turn, agency, menu_buttons(turn))
        return
    if not norm and misses.kind_of(text) == misses.PROMPT:
        # Only an emoji or punctuation ("?", "🙏🙏"): nothing for the classifier to read.
        await _miss(turn, prediction.intent, prediction.confidence)
        return
    if await _precise(turn, norm, prediction.intent, money):
        return
    if (
        money is None
        and _MINIMUM_WAGE.search(norm)
        and (prediction.intent == "contribution" or turn.state.topic == "contribution" or _HOW_MUCH.search(norm))
    ):
        # "gaji umr": the figure depends on the kabupaten/kota; asking beats reusing an old one.
        turn.intent = "contribution"
        turn.state.topic = "contribution"
        turn.say("income_minimum_wage", buttons=[Button(juta(a, turn.lang), f"calc:i={a}") for a in _EXAMPLE_INCOMES])
        return
    said = entities.parse_income(text) if money is not None else None
    if said is not None and said.per != "month":
        money = said.monthly  # "sehari 100rb": the quote is for a month of it, and says so
    prepay = _prepay_months(norm)
    if prepay is not None and (
        prediction.intent in ("contribution", "payment")
        or turn.state.topic == "contribution"
        or _PAY.search(norm)
        or _HOW_MUCH.search(norm)
    ):
        turn.intent = "contribution"
        await calculate(turn, income=money, programmes=programmes, occupation=occupation, month=month, prepay=prepay)
        return
    entity = money is not None or programmes is not None or occupation is not None or month is not None

    wants_calc = prediction.intent == "contribution" and entity
    # "kalau 3 program?", "sy ojol" right after a quote refine it; "sy ojol bisa ikut ga?" is a new question.
    follow_up = (
        turn.state.topic == "contribution"
        and entity
        and (unsure or len(text.split()) <= _BARE_FOLLOW_UP_WORDS)
        and not _WHAT_IS.search(norm)  # "what is jht" after a quote asks what it is, not its price
    )
    bare_amount = money is not None and (unsure or short and prediction.intent in ("greet", "out_of_scope"))
    if wants_calc or follow_up or bare_amount:
        turn.intent = "contribution"
        if said is not None and said.per != "month":
            turn.say("income_converted", income=said)
        await calculate(turn, income=money, programmes=programmes, occupation=occupation, month=month,
                        new_question=not follow_up)  # fmt: skip
        return
    if unsure:
        await _not_sure(turn, prediction.ranking, prediction.intent, prediction.confidence)
        return
    if prediction.intent == "out_of_scope":
        await _miss(turn, prediction.intent, prediction.confidence)
        return
    turn.intent = prediction.intent
    if prediction.intent == "register" and _WHERE_HOW.search(norm):
        # "Di mana saya bisa mendaftar BPU?" asks for the ways, not for the form; a plain "mau
        # daftar" still starts it.
        turn.state.topic = "register"
        leave = turn.button("leave_details", "t:register")
        turn.say("register_ways", buttons=[leave, topic_button(turn, "contribution"), turn.button("menu", "menu")])
        return
    await answer(turn, prediction.intent)


def _prepay_months(norm: str) -> int | None:
    """3, 6 or 12 when the question is about paying that many months at once."""
    if _YEAR_AT_ONCE.search(norm) and (_AT_ONCE.search(norm) or _PAY.search(norm)):
        return 12
    match = _PREPAY.search(norm)
    if match and _AT_ONCE.search(norm):
        months = int(match.group(1))
        return months if months in calculator.prepay_options() else None
    return None


async def answer(turn: Turn, intent: str) -> None:
    turn.intent = turn.intent or intent
    if intent == "greet":
        greet(turn, first_time=False)
        return
    if intent == "contribution":
        await calculate(turn, new_question=True)
        return
    if intent == "register":
        await lead_form.start(turn)
        return
    if intent == "opt_out":
        # Understood, not typed as the exact word: ask first, a misread "terus" must not silence anyone.
        rights.ask_opt_out(turn)
        return
    if intent == "delete_data":
        rights.ask_delete(turn)
        return
    if intent == "human":
        turn.state.topic = intent
        await handover.request_callback(turn, [topic_button(turn, "register"), turn.button("menu", "menu")])
        return
    if intent not in PLAIN and intent not in WORKED and intent != "out_of_scope":
        turn.say("stale_button")
        menu(turn, intro=False)
        return
    turn.state.topic = intent
    buttons = [topic_button(turn, nxt) for nxt in NEXT.get(intent, ())]
    buttons.append(turn.button("menu", "menu"))
    turn.say(intent, buttons=buttons, **_worked(turn, intent))


async def calculate(
    turn: Turn,
    *,
    income: int | None = None,
    programmes: int | None = None,
    occupation: str | None = None,
    month: date | None = None,
    prepay: int | None = None,
    new_question: bool = False,
) -> None:
    """Quote the contribution for a contribution month (this one unless the worker named one),
    remembering income, programmes, occupation and month for follow-ups ("kalau 3 program?");
    a new question that names no month is about this month again."""
    turn.state.topic = "contribution"
    remembered = dict(turn.data.get("calc") or {})
    if new_question and month is None:
        remembered.pop("month", None)
    if income is not None:
        remembered["income"] = income
    if programmes is not None:
        remembered["programmes"] = programmes
    if occupation is not None:
        remembered["occupation"] = occupation
    if month is not None:
        remembered["month"] = month.isoformat()
    turn.save_data(calc=remembered)
    month = _remembered_month(turn, remembered)
    count = remembered.get("programmes", 2)
    transport = occupations.is_transport(remembered.get("occupation"))

    minimum = calculator.minimum_income()
    if "income" in remembered and remembered["income"] < minimum:
        turn.say("contribution_below_minimum", income=remembered["income"], minimum=minimum)
        return
    base = remembered.get("income", minimum)
    if prepay is not None:
        _prepay(turn, base, count, month, transport, prepay, income_known="income" in remembered)
        return
    if "income" not in remembered:
        _minimum(turn, count, remembered.get("occupation"), month)
        return
    quote = calculator.quote(base, count, month, transport)
    split = calculator.by_sector(base, count, month) if transport is None else None
    turn.say(
        "contribution_quote",
        quote=quote,
        transport=transport,
        split=split,
        month=month_year(month, turn.lang),
        this_month=month == turn.today.replace(day=1),
        my=_month_words(turn),
        occupation=occupations.label(remembered.get("occupation"), turn.lang),
        ask=lead_form.current(turn) is None,  # mid-form, the form's own question comes next
        buttons=_calc_buttons(turn, quote.normal.programmes),
    )


def _month_words(turn: Turn) -> Callable[[date], str]:
    """For templates: a date's contribution month in words ("Januari 2027")."""
    return lambda day: month_year(day, turn.lang)


def _remembered_month(turn: Turn, remembered: dict[str, object]) -> date:
    """The month named in this conversation, unless it has passed: then this month."""
    this = turn.today.replace(day=1)
    named = remembered.get("month")
    month = date.fromisoformat(str(named)) if named else this
    return month if month >= this else this


def _prepay(turn: Turn, income: int, programmes: int, month: date, transport: bool | None, months: int,
            *, income_known: bool) -> None:  # fmt: skip
    if transport is None:
        totals = {"transport": calculator.prepay(income, programmes, month, months, True),
                  "others": calculator.prepay(income, programmes, month, months, False)}  # fmt: skip
        if totals["transport"].total == totals["others"].total:
            totals = {"all": totals["others"]}
    else:
        totals = {
            "transport" if transport else "others": calculator.prepay(income, programmes, month, months, transport)
        }
    first = next(iter(totals.values()))
    turn.say(
        "contribution_prepay",
        totals=totals,
        months=months,
        first=month_year(first.first, turn.lang),
        last=month_year(first.last, turn.lang),
        income=income,
        income_known=income_known,
        programmes=programmes,
        normal=calculator.contribution(income, programmes),
        buttons=_calc_buttons(turn, programmes),
    )


def _minimum(turn: Turn, programmes: int, occupation: str | None, month: date) -> None:
    minimum = calculator.minimum_income()
    transport = occupations.is_transport(occupation)
    quote = calculator.quote(minimum, programmes, month, transport)
    split = calculator.by_sector(minimum, programmes, month) if transport is None else None
    buttons = [Button(juta(amount, turn.lang), f"calc:i={amount}") for amount in _EXAMPLE_INCOMES]
    turn.say(
        "contribution_minimum",
        quote=quote,
        occupation_known=occupation is not None,
        transport=transport,
        split=split,
        month=month_year(month, turn.lang),
        this_month=month == turn.today.replace(day=1),
        my=_month_words(turn),
        ask=lead_form.current(turn) is None,  # mid-form, the form's own question comes next
        buttons=buttons + _calc_buttons(turn, programmes)[:1],
    )


def _calc_buttons(turn: Turn, programmes: int) -> list[Button]:
    switch = (
        turn.button("calc_with_jht", "calc:p=3") if programmes == 2 else turn.button("calc_without_jht", "calc:p=2")
    )
    return [switch, topic_button(turn, "register"), turn.button("menu", "menu")]


async def calc_button(turn: Turn, rest: str) -> None:
    key, _, value = rest.partition("=")
    if not value.isdigit():
        turn.say("stale_button")
        return
    if key == "p" and int(value) in (2, 3):
        await calculate(turn, programmes=int(value))
    elif key == "i":
        await calculate(turn, income=int(value))
    else:
        turn.say("stale_button")


async def _not_sure(turn: Turn, ranking: tuple[tuple[str, float], ...], guess: str, confidence: float) -> None:
    # Topics to read about; stopping messages or deleting data is never offered as a guess.
    skip = ("out_of_scope", "greet", "thanks_bye", "opt_out", "delete_data", "human")
    likely = [intent for intent, _ in ranking if intent not in skip][:3]
    await _miss(turn, guess, confidence, suggestions=[topic_button(turn, intent) for intent in likely])


async def _miss(turn: Turn, guess: str | None, confidence: float | None,
                suggestions: list[Button] | None = None) -> None:  # fmt: skip
    await misses.miss(turn, guess=guess, confidence=confidence, menu=menu_buttons(turn)[:6],
                      person=topic_button(turn, "human"), suggestions=suggestions)  # fmt: skip
