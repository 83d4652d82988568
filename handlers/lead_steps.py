"""The lead form's steps as a table: for each, its question, its options, and how an answer is read.

handlers/lead_form.py walks this table; it gives every step the same dialogue acts (cancel,
back, help, "ubah <field>", an option by number, ordinal or label), so a step only says what is
its own: what it asks and what it accepts. `accept` stores the answer or raises `Invalid`, and
returns where to go: None for the next step in order, a step's name, or END when the form is over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from content import regions
from handlers import acts, calculator, menu, occupations, validators
from handlers.messages import Button
from handlers.nlu import entities
from handlers.redact import mask_nik, mask_phone
from handlers.text import keyword
from handlers.turn import Turn
from handlers.validators import Invalid
from storage import repositories as repo
from storage import scope
from storage.models import Staff

END = "end"
CONTINUE_OPTIONS = ("visit", "call", "self")
INCOME_BUTTONS = (1_000_000, 1_500_000, 2_000_000, 3_000_000)
ANSWER_KEY = {"continue": "continue_via"}  # where a step keeps its answer, when not under its own name


# ---------------------------------------------------------------- the form's state


def form(turn: Turn) -> dict[str, Any]:
    return dict(turn.data.get("form") or {})


def store(turn: Turn, **answers: Any) -> None:
    turn.save_data(form={**form(turn), **answers})


def field_entry(turn: Turn) -> int | None:
    """The staff member filling the form for a worker met in person, if it is one."""
    staff_id = form(turn).get("field_entry_staff")
    return int(staff_id) if staff_id is not None else None


def consent_version() -> str:
    from content.facts import load_facts

    return str(load_facts()["consent"]["version"])


def max_age() -> int:
    from content.facts import load_facts

    return int(load_facts()["eligibility"]["max_age_at_registration"])


def nav(turn: Turn, back: bool = True) -> list[Button]:
    buttons = [turn.button("back", "f:nav:back")] if back else []
    return [*buttons, turn.button("cancel", "f:nav:cancel")]


def _rp(amount: int) -> str:
    from content.formatting import rupiah

    return rupiah(amount)


# ---------------------------------------------------------------- options of each step


def _consent_options(turn: Turn) -> list[Button]:
    return [turn.button("agree", "f:consent:yes"), turn.button("disagree", "f:consent:no")]


def _phone_options(turn: Turn) -> list[Button]:
    own = field_entry(turn) is None  # in person, the chat's own number is the coordinator's
    return [turn.button("use_this_number", "f:phone:hint")] if turn.msg.phone_hint and own else []


def _kabkota_options(turn: Turn) -> list[Button]:
    return [Button(r.name, f"f:kabkota:{r.code}") for r in regions.outreach_kabkota()]


def _kecamatan_options(turn: Turn) -> list[Button]:
    kabkota = form(turn).get("kabkota")
    return [Button(r.name, f"f:kecamatan:{r.code}") for r in regions.kecamatan_of(kabkota)] if kabkota else []


def _occupation_options(turn: Turn) -> list[Button]:
    return [Button(occupations.label(c["key"], turn.lang) or c["key"], f"f:occupation:{c['key']}")
            for c in occupations.categories()]  # fmt: skip


def _income_options(turn: Turn) -> list[Button]:
    return [Button(_rp(a), f"f:income:{a}") for a in INCOME_BUTTONS]


def _programmes_options(turn: Turn) -> list[Button]:
    return [turn.button("programmes_2", "f:programmes:2"), turn.button("programmes_3", "f:programmes:3")]


def _continue_options(turn: Turn) -> list[Button]:
    return [turn.button(f"continue_{o}", f"f:continue:{o}") for o in CONTINUE_OPTIONS]


def _summary_options(turn: Turn) -> list[Button]:
    return [turn.button("send", "f:summary:send"), turn.button("edit", "f:summary:edit")]


def _none(turn: Turn) -> list[Button]:
    return []


# ---------------------------------------------------------------- questions


def _in_person(turn: Turn) -> bool:
    # Filled in by a coordinator in person: the prompts speak of the worker ("peserta"), not to them.
    return field_entry(turn) is not None


def _ask_consent(turn: Turn, buttons: list[Button]) -> None:
    turn.say("form_consent_in_person" if _in_person(turn) else "form_consent", buttons=buttons)


def _ask_text(name: str) -> Callable[[Turn, list[Button]], None]:
    def ask(turn: Turn, buttons: list[Button]) -> None:
        turn.say(f"form_{name}", in_person=_in_person(turn), buttons=buttons)

    return ask


def _ask_phone(turn: Turn, buttons: list[Button]) -> None:
    own = not _in_person(turn)
    turn.say(
        "form_phone",
        has_hint=bool(turn.msg.phone_hint) and own,
        hint=mask_phone(turn.msg.phone_hint or ""),
        request_phone=own,
        in_person=not own,
        buttons=buttons,
    )


def _ask_kecamatan(turn: Turn, buttons: list[Button]) -> None:
    kabkota = regions.get(form(turn)["kabkota"])
    turn.say("form_kecamatan", kabkota=kabkota.name if kabkota else "", buttons=buttons)


def _ask_income(turn: Turn, buttons: list[Button]) -> None:
    turn.say("form_income", minimum=calculator.minimum_income(), buttons=buttons)


def _ask_programmes(turn: Turn, buttons: list[Button]) -> None:
    # Priced like the summary: this month, with the relief of the worker's sector when it applies.
    answers = form(turn)
    transport = occupations.is_transport(answers.get("occupation"))
    two = calculator.quote(answers["income"], 2, turn.today, transport)
    three = calculator.quote(answers["income"], 3, turn.today, transport)
    turn.say("form_programmes", in_person=_in_person(turn), two=two, three=three, buttons=buttons)


def _ask_summary(turn: Turn, buttons: list[Button]) -> None:
    answers = form(turn)
    kabkota = regions.get(answers["kabkota"])
    kecamatan = regions.get(answers["kecamatan"])
    transport = occupations.is_transport(answers["occupation"])
    quote = calculator.quote(answers["income"], answers["programmes"], turn.today, transport)
    nik = turn.services.cipher.decrypt(answers["nik"].encode())
    turn.save_data(form_editing=False)
    turn.say(
        "form_summary",
        in_person=_in_person(turn),
        name=answers["name"],
        nik=mask_nik(nik),
        dob=date.fromisoformat(answers["dob"]),
        phone=mask_phone(answers["phone"]),
        kabkota=kabkota.name if kabkota else "",
        kecamatan=kecamatan.name if kecamatan else "",
        occupation=occupations.label(answers["occupation"], turn.lang),
        income=answers["income"],
        programmes=answers["programmes"],
        quote=quote,
        continue_via=turn.label(f"continue_{answers['continue_via']}"),
        buttons=buttons,
    )


# ---------------------------------------------------------------- answers


async def _accept_consent(turn: Turn, value: str, from_button: bool) -> str | None:
    said = value if from_button else acts.act(value)
    if said in ("yes", "agree"):
        if field_entry(turn) is None:  # in person, the consent is the worker's, not this chat's
            turn.contact.consent_at = turn.now
            turn.contact.consent_version = consent_version()
        store(turn, consented_now=True, consent_at=turn.now.isoformat())
        turn.say("form_consent_thanks")
        return None
    if said in ("no", "decline"):
        turn.state.step = None
        turn.drop_data("form", "form_editing")
        turn.say("form_consent_declined", buttons=menu.menu_buttons(turn))
        return END
    raise Invalid("consent_choose")


async def _accept_name(turn: Turn, value: str, from_button: bool) -> str | None:
    store(turn, name=validators.parse_name(value))
    return None


async def _accept_nik(turn: Turn, value: str, from_button: bool) -> str | None:
    info = validators.parse_nik(value)
    store(
        turn,
        nik=turn.services.cipher.encrypt(info.nik).decode(),
        nik_date=f"{info.birth_day:02d}-{info.birth_month:02d}-{info.birth_year_2:02d}",
    )
    if not info.prefix_known:
        turn.say("form_nik_region_warning")
    existing = await repo.lead_by_nik_hash(turn.session, turn.services.cipher.keyed_hash(info.nik))
    if existing is not None and existing.contact_id != turn.contact.id:
        turn.say("form_nik_known")
    dob = form(turn).get("dob")
    if dob and not validators.nik_matches_birth_date(info, date.fromisoformat(dob)):
        # The NIK changed while editing: the date of birth must be checked again.
        store(turn, dob=None)
        return "dob"
    return None


async def _accept_dob(turn: Turn, value: str, from_button: bool) -> str | None:
    born = validators.parse_date(value, turn.today)
    nik = turn.services.cipher.decrypt(form(turn)["nik"].encode())
    if not validators.nik_matches_birth_date(validators.parse_nik(nik), born):
        raise Invalid("dob_nik_mismatch")
    store(turn, dob=born.isoformat())
    if validators.age_on(born, turn.today) >= max_age():
        turn.say("form_age_note", max_age=max_age())
    return None


async def _accept_phone(turn: Turn, value: str, from_button: bool) -> str | None:
    own_phone = value == "hint" and from_button and field_entry(turn) is None
    raw = turn.msg.phone_hint if own_phone else (None if value == "hint" and from_button else value)
    if not raw:
        raise Invalid("phone_invalid")
    store(turn, phone=validators.parse_phone(raw))
    return None


async def _accept_kabkota(turn: Turn, value: str, from_button: bool) -> str | None:
    region = regions.get(value) if from_button else regions.match_kabkota(value)
    if region is None or region.is_kecamatan:
        raise Invalid("kabkota_unknown")
    if form(turn).get("kabkota") != region.code:
        store(turn, kabkota=region.code, kecamatan=None)
    return "kecamatan"  # even when editing: a new kabupaten needs its kecamatan


async def _accept_kecamatan(turn: Turn, value: str, from_button: bool) -> str | None:
    kabkota = form(turn)["kabkota"]
    region = regions.get(value) if from_button else regions.match_kecamatan(value, kabkota)
    if region is None or region.kabkota_code != kabkota:
        raise Invalid("kecamatan_unknown")
    staff_id = field_entry(turn)
    if staff_id is not None and not scope.covers(scope.of(await turn.session.get(Staff, staff_id)), region.code):
        raise Invalid("kecamatan_outside_areas")  # as in the dashboard: a coordinator enters their own areas
    store(turn, kecamatan=region.code)
    return None


async def _accept_occupation(turn: Turn, value: str, from_button: bool) -> str | None:
    key = value if from_button else entities.parse_occupation(value)
    if occupations.by_key(key) is None:
        raise Invalid("occupation_unknown")
    store(turn, occupation=key)
    return None


async def _accept_income(turn: Turn, value: str, from_button: bool) -> str | None:
    income: entities.Income | None
    if from_button and value.isdigit():
        income = entities.Income(int(value), int(value))
    else:
        income = entities.parse_income(value)
    if income is None:
        raise Invalid("income_unreadable")
    if income.per != "month":
        turn.say("income_converted", income=income)
    if income.monthly < calculator.minimum_income():
        raise Invalid("income_below_minimum")
    store(turn, income=income.monthly)
    # "2 juta 3 program" answers the next question too.
    count = None if from_button else entities.parse_programmes(value)
    if count in (2, 3) and not turn.data.get("form_editing"):
        store(turn, programmes=count)
        return "continue"
    return None


async def _accept_programmes(turn: Turn, value: str, from_button: bool) -> str | None:
    bare = value.strip() in ("2", "3")  # the question says "type 2 or 3"
    count = int(value) if from_button or bare else entities.parse_programmes(value)
    if count not in (2, 3):
        raise Invalid("programmes_choose")
    store(turn, programmes=count)
    return None


async def _accept_continue(turn: Turn, value: str, from_button: bool) -> str | None:
    choice = value if from_button else _follow_up(value)
    if choice not in CONTINUE_OPTIONS:
        raise Invalid("continue_choose")
    store(turn, continue_via=choice)
    return None


def _follow_up(text: str) -> str | None:
    lowered = keyword(text)
    if any(w in lowered for w in ("datang", "kunjung", "visit", "rumah", "ketemu", "come")):
        return "visit"
    if any(w in lowered for w in ("telp", "telepon", "telpon", "call", "hubungi", "wa", "whatsapp", "phone")):
        return "call"
    if any(w in lowered for w in ("sendiri", "jmo", "aplikasi", "self", "app", "myself", "own")):
        return "self"
    return None


async def _accept_summary(turn: Turn, value: str, from_button: bool) -> str | None:
    said = value if from_button else acts.act(value)
    if said in ("send", "agree"):
        from handlers import lead_save

        await lead_save.save(turn)
        return END
    if said == "edit":
        ask_which_field(turn)
        return END
    raise Invalid("summary_choose")


def ask_which_field(turn: Turn) -> None:
    turn.say("form_edit_which", buttons=[turn.button(f"field_{name}", f"f:edit:{name}") for name in EDITABLE])


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Step:
    ask: Callable[[Turn, list[Button]], None]
    accept: Callable[[Turn, str, bool], Awaitable[str | None]]
    options: Callable[[Turn], list[Button]] = _none
    numbers_pick: bool = True  # False where a bare number is an answer of its own (an amount, a count)


TABLE: dict[str, Step] = {
    "consent": Step(_ask_consent, _accept_consent, _consent_options),
    "name": Step(_ask_text("name"), _accept_name),
    "nik": Step(_ask_text("nik"), _accept_nik),
    "dob": Step(_ask_text("dob"), _accept_dob),
    "phone": Step(_ask_phone, _accept_phone, _phone_options),
    "kabkota": Step(_ask_text("kabkota"), _accept_kabkota, _kabkota_options),
    "kecamatan": Step(_ask_kecamatan, _accept_kecamatan, _kecamatan_options),
    "occupation": Step(_ask_text("occupation"), _accept_occupation, _occupation_options),
    "income": Step(_ask_income, _accept_income, _income_options, numbers_pick=False),
    "programmes": Step(_ask_programmes, _accept_programmes, _programmes_options, numbers_pick=False),
    "continue": Step(_ask_text("continue"), _accept_continue, _continue_options),
    "summary": Step(_ask_summary, _accept_summary, _summary_options),
}
STEPS = tuple(TABLE)
EDITABLE = STEPS[1:-1]
