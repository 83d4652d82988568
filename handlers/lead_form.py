"""The lead form: consent first, then what a coordinator needs to sign a worker up.

State lives in the conversation state row (`step` = "form:<field>", answers in
`data["form"]`), saved after every message, so a restart resumes at the same step.
The NIK is kept encrypted even while the form is half-filled.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from content import regions
from handlers import calculator, occupations, validators
from handlers.messages import Button
from handlers.nlu import entities
from handlers.nlu.classifier import LOW_CONFIDENCE
from handlers.redact import mask_nik, mask_phone
from handlers.text import keyword
from handlers.turn import Turn
from handlers.validators import Invalid
from storage import repositories as repo
from storage.models import Lead, LeadEvent, Staff

STEPS = (
    "consent",
    "name",
    "nik",
    "dob",
    "phone",
    "kabkota",
    "kecamatan",
    "occupation",
    "income",
    "programmes",
    "continue",
    "summary",
)
EDITABLE = STEPS[1:-1]
CANCEL_WORDS = {"batal", "cancel", "batalkan", "gak jadi", "ga jadi", "nggak jadi", "tidak jadi", "/batal"}
BACK_WORDS = {"kembali", "back", "balik", "sebelumnya", "/kembali"}
# Typed answers to the consent question, in both languages (the buttons' labels typed out too).
CONSENT_YES = {"yes", "ya", "setuju", "iya", "y", "ok", "oke", "boleh", "agree", "i agree", "yes i agree", "okay",
               "sure", "iya setuju", "ya setuju"}  # fmt: skip
CONSENT_NO = {"no", "tidak", "tdk", "ga", "gak", "nggak", "tidak setuju", "n", "disagree", "i dont agree",
              "i do not agree", "dont agree", "do not agree"}  # fmt: skip
CONTINUE_OPTIONS = ("visit", "call", "self")
# A question typed instead of an answer is answered, then the form goes on.
_QUESTIONS = {
    "benefits_overview",
    "benefit_jkk",
    "benefit_jkm",
    "benefit_jht",
    "contribution",
    "eligibility",
    "payment",
    "claim",
    "office_contact",
    "human",
}


def current(turn: Turn) -> str | None:
    step = turn.state.step or ""
    return step.removeprefix("form:") if step.startswith("form:") else None


def _form(turn: Turn) -> dict[str, Any]:
    return dict(turn.data.get("form") or {})


def _store(turn: Turn, **answers: Any) -> None:
    turn.save_data(form={**_form(turn), **answers})


def _go(turn: Turn, step: str) -> None:
    turn.state.step = f"form:{step}"
    prompt(turn, step)


async def start(turn: Turn) -> None:
    turn.intent = "register"
    turn.state.topic = "register"
    turn.drop_data("form", "form_editing")
    consented = turn.contact.consent_at is not None and turn.contact.consent_version == _consent_version(turn)
    turn.say("form_intro")
    _go(turn, "name" if consented else "consent")


async def start_field_entry(turn: Turn, staff: Staff) -> None:
    """A coordinator fills the form for a worker met in person; the worker's consent is given to them."""
    turn.drop_data("form", "form_editing")
    turn.save_data(form={"field_entry_staff": staff.id})
    turn.state.topic = "register"
    turn.say("form_field_intro")
    turn.state.step = "form:consent"
    prompt(turn, "consent")


def _field_entry(turn: Turn) -> int | None:
    staff_id = _form(turn).get("field_entry_staff")
    return int(staff_id) if staff_id is not None else None


def abandon(turn: Turn) -> None:
    """Leave the form without a word (the worker asked for the menu or restarted)."""
    if current(turn):
        turn.state.step = None
        turn.drop_data("form", "form_editing")


async def reprompt(turn: Turn) -> bool:
    step = current(turn)
    if step is None:
        return False
    prompt(turn, step)
    return True


def _nav(turn: Turn, back: bool = True) -> list[Button]:
    buttons = [turn.button("back", "f:nav:back")] if back else []
    return [*buttons, turn.button("cancel", "f:nav:cancel")]


def prompt(turn: Turn, step: str) -> None:
    form = _form(turn)
    # Filled in by a coordinator in person: the prompts speak of the worker ("peserta"), not to them.
    in_person = _field_entry(turn) is not None
    if step == "consent":
        turn.say(
            "form_consent_in_person" if _field_entry(turn) else "form_consent",
            buttons=[turn.button("agree", "f:consent:yes"), turn.button("disagree", "f:consent:no")],
        )
    elif step in ("name", "nik", "dob"):
        turn.say(f"form_{step}", in_person=in_person, buttons=_nav(turn, back=step != "name" or not _consented_here(turn)))
    elif step == "phone":
        buttons = []
        own = not in_person  # in person, the chat's own number is the coordinator's
        if turn.msg.phone_hint and own:
            buttons.append(turn.button("use_this_number", "f:phone:hint"))
        turn.say(
            "form_phone",
            has_hint=bool(turn.msg.phone_hint) and own,
            hint=mask_phone(turn.msg.phone_hint or ""),
            request_phone=own,
            in_person=in_person,
            buttons=buttons + _nav(turn),
        )
    elif step == "kabkota":
        buttons = [Button(r.name, f"f:kabkota:{r.code}") for r in regions.outreach_kabkota()]
        turn.say("form_kabkota", in_person=in_person, buttons=buttons + _nav(turn))
    elif step == "kecamatan":
        kabkota = regions.get(form["kabkota"])
        options = regions.kecamatan_of(form["kabkota"])
        buttons = [Button(r.name, f"f:kecamatan:{r.code}") for r in options]
        turn.say("form_kecamatan", kabkota=kabkota.name if kabkota else "", buttons=buttons + _nav(turn))
    elif step == "occupation":
        buttons = [Button(occupations.label(c["key"], turn.lang) or c["key"], f"f:occupation:{c['key']}")
                   for c in occupations.categories()]  # fmt: skip
        turn.say("form_occupation", in_person=in_person, buttons=buttons + _nav(turn))
    elif step == "income":
        amounts = (1_000_000, 1_500_000, 2_000_000, 3_000_000)
        buttons = [Button(_rp(a), f"f:income:{a}") for a in amounts]
        turn.say("form_income", minimum=calculator.minimum_income(), buttons=buttons + _nav(turn))
    elif step == "programmes":
        # Priced like the summary: this month, with the relief of the worker's sector when it applies.
        transport = occupations.is_transport(form.get("occupation"))
        two = calculator.quote(form["income"], 2, turn.today, transport)
        three = calculator.quote(form["income"], 3, turn.today, transport)
        turn.say(
            "form_programmes",
            in_person=in_person,
            two=two,
            three=three,
            buttons=[turn.button("programmes_2", "f:programmes:2"), turn.button("programmes_3", "f:programmes:3"),
                     *_nav(turn)],
        )  # fmt: skip
    elif step == "continue":
        buttons = [turn.button(f"continue_{o}", f"f:continue:{o}") for o in CONTINUE_OPTIONS]
        turn.say("form_continue", in_person=in_person, buttons=buttons + _nav(turn))
    elif step == "summary":
        _summary(turn)


def _rp(amount: int) -> str:
    from content.formatting import rupiah

    return rupiah(amount)


def _consented_here(turn: Turn) -> bool:
    return bool(_form(turn).get("consented_now"))


def _max_age() -> int:
    from content.facts import load_facts

    return int(load_facts()["eligibility"]["max_age_at_registration"])


def _consent_version(turn: Turn) -> str:
    from content.facts import load_facts

    return str(load_facts()["consent"]["version"])


async def button(turn: Turn, rest: str) -> None:
    step, _, value = rest.partition(":")
    here = current(turn)
    if step == "nav" and here:
        await _navigate(turn, value)
        return
    if step == "edit" and here == "summary" and value in EDITABLE:
        turn.save_data(form_editing=True)
        _go(turn, value)
        return
    if here is None or step != here:
        turn.say("stale_button")
        if here is None:
            from handlers import topics

            topics.menu(turn, intro=False)
        else:
            prompt(turn, here)
        return
    await answer(turn, value, from_button=True)


async def _navigate(turn: Turn, where: str) -> None:
    if where == "cancel":
        cancel(turn)
    elif where == "back":
        back(turn)
    else:
        turn.say("stale_button")
        await reprompt(turn)


def cancel(turn: Turn) -> None:
    turn.state.step = None
    turn.drop_data("form", "form_editing")
    turn.intent = "form_cancel"
    from handlers import topics

    turn.say("form_cancelled", buttons=topics.menu_buttons(turn))


def back(turn: Turn) -> None:
    step = current(turn)
    if step is None:
        return
    turn.intent = "form_back"
    if turn.data.get("form_editing") and step != "summary":
        _go(turn, "summary")
        return
    index = STEPS.index(step)
    previous = STEPS[max(index - 1, 0)]
    if previous == "consent" and turn.contact.consent_at is not None:
        previous = "name"
    _go(turn, previous)


async def answer(turn: Turn, value: str, *, from_button: bool = False, shared_contact: bool = False) -> None:
    step = current(turn)
    if step is None:
        return
    turn.intent = f"form:{step}"
    word = keyword(value)
    if not from_button and word in CANCEL_WORDS:
        cancel(turn)
        return
    if not from_button and word in BACK_WORDS:
        back(turn)
        return
    try:
        await _accept(turn, step, value, from_button=from_button, shared_contact=shared_contact)
    except Invalid as problem:
        if not from_button and await _answer_question(turn, value):
            turn.say("form_resume")
        else:
            turn.say("form_invalid", code=problem.code, step=step, **_invalid_context(turn, problem.code))
        prompt(turn, step)


def _invalid_context(turn: Turn, code: str) -> dict[str, Any]:
    if code == "income_below_minimum":
        return {"minimum": calculator.minimum_income()}
    if code == "dob_nik_mismatch":
        return {"nik_date": _form(turn).get("nik_date", "")}
    return {}


async def _answer_question(turn: Turn, text: str) -> bool:
    # "16-08-1990" or "800rb" are attempts at an answer, however the classifier reads them.
    if sum(1 for word in text.split() if any(ch.isalpha() for ch in word)) < 2:
        return False
    prediction = turn.services.matcher.predict(text)
    if prediction.intent not in _QUESTIONS or prediction.confidence < LOW_CONFIDENCE:
        return False
    from handlers import topics

    saved_step = turn.state.step
    await topics.answer(turn, prediction.intent)
    turn.state.step = saved_step
    turn.replies[-1:] = [_without_buttons(turn.replies[-1])] if turn.replies else []
    return True


def _without_buttons(reply: Any) -> Any:
    from dataclasses import replace

    return replace(reply, buttons=())


def _next(turn: Turn, step: str) -> None:
    editing = bool(turn.data.get("form_editing"))
    if editing and step != "kabkota":
        _go(turn, "summary")
        return
    _go(turn, STEPS[STEPS.index(step) + 1])


async def _accept(turn: Turn, step: str, value: str, *, from_button: bool, shared_contact: bool) -> None:
    form = _form(turn)
    if step == "consent":
        if keyword(value) in CONSENT_YES:
            if _field_entry(turn) is None:  # in person, the consent is the worker's, not this chat's
                turn.contact.consent_at = turn.now
                turn.contact.consent_version = _consent_version(turn)
            _store(turn, consented_now=True, consent_at=turn.now.isoformat())
            turn.say("form_consent_thanks")
            _go(turn, "name")
        elif keyword(value) in CONSENT_NO:
            turn.state.step = None
            turn.drop_data("form", "form_editing")
            from handlers import topics

            turn.say("form_consent_declined", buttons=topics.menu_buttons(turn))
        else:
            raise Invalid("consent_choose")
        return
    if step == "name":
        _store(turn, name=validators.parse_name(value))
    elif step == "nik":
        info = validators.parse_nik(value)
        _store(
            turn,
            nik=turn.services.cipher.encrypt(info.nik).decode(),
            nik_date=f"{info.birth_day:02d}-{info.birth_month:02d}-{info.birth_year_2:02d}",
        )
        if not info.prefix_known:
            turn.say("form_nik_region_warning")
        existing = await repo.lead_by_nik_hash(turn.session, turn.services.cipher.keyed_hash(info.nik))
        if existing is not None and existing.contact_id != turn.contact.id:
            turn.say("form_nik_known")
        dob = form.get("dob")
        if dob and not validators.nik_matches_birth_date(info, date.fromisoformat(dob)):
            # The NIK changed while editing: the date of birth must be checked again.
            _store(turn, dob=None)
            _go(turn, "dob")
            return
    elif step == "dob":
        born = validators.parse_date(value, turn.today)
        nik = turn.services.cipher.decrypt(form["nik"].encode())
        if not validators.nik_matches_birth_date(validators.parse_nik(nik), born):
            raise Invalid("dob_nik_mismatch")
        _store(turn, dob=born.isoformat())
        if validators.age_on(born, turn.today) >= _max_age():
            turn.say("form_age_note", max_age=_max_age())
    elif step == "phone":
        own_phone = value == "hint" and from_button and _field_entry(turn) is None
        raw = turn.msg.phone_hint if own_phone else (None if value == "hint" and from_button else value)
        if not raw:
            raise Invalid("phone_invalid")
        _store(turn, phone=validators.parse_phone(raw))
    elif step == "kabkota":
        region = regions.get(value) if from_button else regions.match_kabkota(value)
        if region is None or region.is_kecamatan:
            raise Invalid("kabkota_unknown")
        if form.get("kabkota") != region.code:
            _store(turn, kabkota=region.code, kecamatan=None)
        _go(turn, "kecamatan")
        return
    elif step == "kecamatan":
        region = regions.get(value) if from_button else regions.match_kecamatan(value, form["kabkota"])
        if region is None or region.kabkota_code != form["kabkota"]:
            raise Invalid("kecamatan_unknown")
        _store(turn, kecamatan=region.code)
        if turn.data.get("form_editing"):
            _go(turn, "summary")
            return
    elif step == "occupation":
        key = value if from_button else entities.parse_occupation(value)
        if occupations.by_key(key) is None:
            raise Invalid("occupation_unknown")
        _store(turn, occupation=key)
    elif step == "income":
        amount = int(value) if from_button and value.isdigit() else entities.parse_money(value)
        if amount is None:
            raise Invalid("income_unreadable")
        if amount < calculator.minimum_income():
            raise Invalid("income_below_minimum")
        _store(turn, income=amount)
    elif step == "programmes":
        count = int(value) if from_button and value in ("2", "3") else entities.parse_programmes(value)
        if count not in (2, 3):
            raise Invalid("programmes_choose")
        _store(turn, programmes=count)
    elif step == "continue":
        choice = value if from_button else _continue_choice(value)
        if choice not in CONTINUE_OPTIONS:
            raise Invalid("continue_choose")
        _store(turn, continue_via=choice)
    elif step == "summary":
        await _confirm(turn, value, from_button=from_button)
        return
    _next(turn, step)


def _continue_choice(text: str) -> str | None:
    lowered = keyword(text)
    if any(w in lowered for w in ("datang", "kunjung", "visit", "rumah", "ketemu")):
        return "visit"
    if any(w in lowered for w in ("telp", "telepon", "telpon", "call", "hubungi", "wa", "whatsapp")):
        return "call"
    if any(w in lowered for w in ("sendiri", "jmo", "aplikasi", "self", "app")):
        return "self"
    return None


def _summary(turn: Turn) -> None:
    form = _form(turn)
    kabkota = regions.get(form["kabkota"])
    kecamatan = regions.get(form["kecamatan"])
    transport = occupations.is_transport(form["occupation"])
    quote = calculator.quote(form["income"], form["programmes"], turn.today, transport)
    nik = turn.services.cipher.decrypt(form["nik"].encode())
    turn.save_data(form_editing=False)
    turn.say(
        "form_summary",
        in_person=_field_entry(turn) is not None,
        name=form["name"],
        nik=mask_nik(nik),
        dob=date.fromisoformat(form["dob"]),
        phone=mask_phone(form["phone"]),
        kabkota=kabkota.name if kabkota else "",
        kecamatan=kecamatan.name if kecamatan else "",
        occupation=occupations.label(form["occupation"], turn.lang),
        income=form["income"],
        programmes=form["programmes"],
        quote=quote,
        continue_via=turn.label(f"continue_{form['continue_via']}"),
        buttons=[turn.button("send", "f:summary:send"), turn.button("edit", "f:summary:edit"),
                 turn.button("cancel", "f:nav:cancel")],
    )  # fmt: skip


async def _confirm(turn: Turn, value: str, *, from_button: bool) -> None:
    choice = value if from_button else keyword(value)
    if choice in ("send", "kirim", "ya", "benar", "ok", "oke", "setuju", "sudah benar"):
        await _save(turn)
    elif choice in ("edit", "ubah", "ganti", "edit data"):
        buttons = [turn.button(f"field_{step}", f"f:edit:{step}") for step in EDITABLE]
        turn.say("form_edit_which", buttons=buttons)
    else:
        raise Invalid("summary_choose")


async def _save(turn: Turn) -> None:
    form = _form(turn)
    cipher = turn.services.cipher
    nik = cipher.decrypt(form["nik"].encode())
    nik_hash = cipher.keyed_hash(nik)
    transport = bool(occupations.is_transport(form["occupation"]))
    timezone = regions.timezone_for(form["kecamatan"])
    fields: dict[str, Any] = dict(
        full_name=form["name"],
        nik_encrypted=cipher.encrypt(nik),
        nik_hash=nik_hash,
        nik_masked=mask_nik(nik),
        birth_date=date.fromisoformat(form["dob"]),
        phone_e164=form["phone"],
        kabkota_code=form["kabkota"],
        kecamatan_code=form["kecamatan"],
        occupation=form["occupation"],
        is_transport=transport,
        declared_income=form["income"],
        programmes=form["programmes"],
        continue_via=form["continue_via"],
        timezone=timezone,
        campaign_code=None if _field_entry(turn) else turn.contact.campaign_code,
        channel=turn.contact.channel,
    )
    field_staff = _field_entry(turn)
    if field_staff is not None:
        await _save_field_entry(turn, form, fields, field_staff)
        return
    mine = [lead for lead in await repo.leads_of_contact(turn.session, turn.contact.id) if lead.nik_hash == nik_hash]
    if mine:
        lead = mine[0]
        for key, value in fields.items():
            setattr(lead, key, value)
    else:
        coordinator = await repo.coordinator_for(turn.session, form["kecamatan"])
        lead = Lead(
            contact_id=turn.contact.id,
            status="new",
            assigned_staff_id=coordinator.id if coordinator else None,
            **fields,
        )
        turn.session.add(lead)
    await turn.session.flush()
    turn.contact.region_code = form["kecamatan"]
    turn.contact.timezone = timezone
    turn.contact.phone_e164 = form["phone"]
    await repo.audit(turn.session, f"contact:{turn.contact.id}", "lead_saved", lead_id=lead.id)
    turn.state.step = None
    turn.drop_data("form", "form_editing")
    turn.intent = "lead_saved"
    from handlers import topics

    turn.say(
        "form_saved",
        continue_via=form["continue_via"],
        name=form["name"].split()[0],
        buttons=[turn.button("invite_friends", "ref:me"), *topics.menu_buttons(turn)],
    )
    from handlers import reminders

    reminders.offer(turn)


async def _save_field_entry(turn: Turn, form: dict[str, Any], fields: dict[str, Any], staff_id: int) -> None:
    staff = await turn.session.get(Staff, staff_id)
    coordinator = await repo.coordinator_for(turn.session, form["kecamatan"])
    assigned = staff_id if staff is not None and staff.role == "coordinator" else (coordinator.id if coordinator else None)
    lead = Lead(contact_id=None, status="new", created_by_staff_id=staff_id, assigned_staff_id=assigned, **fields)
    turn.session.add(lead)
    await turn.session.flush()
    who = staff.name if staff else f"staff {staff_id}"
    turn.session.add(
        LeadEvent(lead_id=lead.id, staff_id=staff_id, status="new", note=f"Persetujuan diberikan langsung kepada {who}")
    )
    await repo.audit(turn.session, f"staff:{staff_id}", "lead_field_entry", lead_id=lead.id, consent_at=form.get("consent_at"))
    turn.state.step = None
    turn.drop_data("form", "form_editing")
    turn.intent = "lead_saved"
    turn.say("form_field_saved", name=form["name"].split()[0], lead_id=lead.id)
