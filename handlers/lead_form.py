"""The lead form: consent first, then what a coordinator needs to sign a worker up.

The steps are a table (handlers/lead_steps.py); this module walks it and gives every step the
same dialogue acts (handlers/acts.py): cancel, back, help, "ubah <field>", an option picked by
its number, ordinal or label, and a question typed mid-form answered before the form goes on.
State lives in the conversation state row (`step` = "form:<field>", answers in `data["form"]`),
saved after every message, so a restart resumes at the same step. The NIK is kept encrypted
even while the form is half-filled.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from handlers import acts, calculator, lead_steps, menu
from handlers.lead_steps import EDITABLE, END, STEPS, TABLE, field_entry, form, nav
from handlers.messages import Reply
from handlers.nlu.classifier import LOW_CONFIDENCE
from handlers.turn import Turn
from handlers.validators import Invalid
from storage.models import Staff

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


def _go(turn: Turn, step: str) -> None:
    turn.state.step = f"form:{step}"
    prompt(turn, step)


async def start(turn: Turn) -> None:
    turn.intent = "register"
    turn.state.topic = "register"
    turn.drop_data("form", "form_editing")
    consented = turn.contact.consent_at is not None and turn.contact.consent_version == lead_steps.consent_version()
    turn.say("form_intro")
    _go(turn, "name" if consented else "consent")


async def start_field_entry(turn: Turn, staff: Staff) -> None:
    """A coordinator fills the form for a worker met in person; the worker's consent is given to them."""
    turn.drop_data("form", "form_editing")
    turn.save_data(form={"field_entry_staff": staff.id})
    turn.state.topic = "register"
    turn.say("form_field_intro")
    _go(turn, "consent")


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


def prompt(turn: Turn, step: str) -> None:
    TABLE[step].ask(turn, _buttons(turn, step))


def _buttons(turn: Turn, step: str) -> list[Any]:
    options = TABLE[step].options(turn)
    if step == "consent":
        return options
    if step == "summary":
        return [*options, turn.button("cancel", "f:nav:cancel")]
    return [*options, *nav(turn, back=_previous(turn, step) != step)]


async def button(turn: Turn, rest: str) -> None:
    step, _, value = rest.partition(":")
    here = current(turn)
    if step == "nav" and here:
        await _navigate(turn, value)
        return
    if step == "edit" and here == "summary" and value in EDITABLE:
        _edit(turn, value)
        return
    if here is None or step != here:
        turn.say("stale_button")
        if here is None:
            menu.menu(turn, intro=False)
        else:
            prompt(turn, here)
        return
    await _take(turn, here, value, from_button=True)


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
    turn.say("form_cancelled", buttons=menu.menu_buttons(turn))


def _previous(turn: Turn, step: str) -> str:
    index = STEPS.index(step)
    previous = STEPS[max(index - 1, 0)]
    if previous == "consent" and (turn.contact.consent_at is not None or form(turn).get("consented_now")):
        return step  # consent given stays given; there is nothing before the name to go back to
    return previous


def back(turn: Turn) -> None:
    step = current(turn)
    if step is None:
        return
    turn.intent = "form_back"
    if turn.data.get("form_editing") and step != "summary":
        _go(turn, "summary")
        return
    _go(turn, _previous(turn, step))


def _edit(turn: Turn, field: str) -> None:
    turn.intent = "form_edit"
    turn.save_data(form_editing=True)
    _go(turn, field)


async def answer(turn: Turn, value: str, *, from_button: bool = False, shared_contact: bool = False) -> None:
    """A typed answer (or a shared contact) at the current step."""
    step = current(turn)
    if step is None:
        return
    turn.intent = f"form:{step}"
    if shared_contact or from_button:
        await _take(turn, step, value, from_button=from_button)
        return
    said = acts.act(value)
    if said == "cancel":
        cancel(turn)
        return
    if said == "back":
        back(turn)
        return
    if said == "help":
        turn.intent = "form_help"
        turn.say("form_help", step=step, in_person=field_entry(turn) is not None)
        prompt(turn, step)
        return
    field = acts.field(value, bare=step == "summary")
    if field in EDITABLE and field != step and (step == "summary" or form(turn).get(field) is not None):
        _edit(turn, field)
        return
    await _take(turn, step, value, from_button=False)


async def _take(turn: Turn, step: str, value: str, *, from_button: bool) -> None:
    spec = TABLE[step]
    try:
        where = await spec.accept(turn, value, from_button)
    except Invalid as problem:
        if not from_button and await _chosen(turn, step, value):
            return
        if not from_button and await _answer_question(turn, value):
            turn.say("form_resume")
            prompt(turn, step)
            return
        # A short word on what is wanted, with the step's buttons: not the whole question again.
        turn.say("form_invalid", code=problem.code, step=step, buttons=_buttons(turn, step),
                 **_invalid_context(turn, problem.code))  # fmt: skip
        return
    if where == END:
        return
    if where is not None:
        _go(turn, where)
        return
    _go(turn, _next(turn, step))


def _next(turn: Turn, step: str) -> str:
    if not turn.data.get("form_editing"):
        return STEPS[STEPS.index(step) + 1]
    # A field changed: back to the summary, or on to the first question not answered yet when
    # the change was asked for before the form was finished.
    answers = form(turn)
    return next((s for s in EDITABLE if answers.get(lead_steps.ANSWER_KEY.get(s, s)) is None), "summary")


async def _chosen(turn: Turn, step: str, value: str) -> bool:
    """An option picked by its number, ordinal or label ("2", "yang kedua", "small business")."""
    options = TABLE[step].options(turn)
    index = acts.choose(value, [b.label for b in options], numbers=TABLE[step].numbers_pick)
    if index is None:
        return False
    payload = options[index].payload  # "f:<step>:<value>"
    await _take(turn, step, payload.split(":", 2)[2], from_button=True)
    return True


def _invalid_context(turn: Turn, code: str) -> dict[str, Any]:
    if code == "income_below_minimum":
        return {"minimum": calculator.minimum_income()}
    if code == "dob_nik_mismatch":
        return {"nik_date": form(turn).get("nik_date", "")}
    return {}


async def _answer_question(turn: Turn, text: str) -> bool:
    # "16-08-1990" or "800rb" are attempts at an answer, however the classifier reads them.
    if sum(1 for word in text.split() if any(ch.isalpha() for ch in word)) < 2:
        return False
    prediction = turn.services.matcher.predict(text)
    if prediction.intent not in _QUESTIONS or prediction.confidence < LOW_CONFIDENCE:
        return False
    from handlers import topics  # a question mid-form is answered as anywhere else

    saved_step = turn.state.step
    await topics.answer(turn, prediction.intent)
    turn.state.step = saved_step
    turn.replies[-1:] = [_without_buttons(turn.replies[-1])] if turn.replies else []
    return True


def _without_buttons(reply: Reply) -> Reply:
    return replace(reply, buttons=())
