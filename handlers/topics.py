"""Answers to what a worker asks: the menu, each intent, the contribution calculator."""

from __future__ import annotations

from content.formatting import juta
from handlers import calculator, handover, lead_form, occupations, rights
from handlers.messages import Button
from handlers.nlu import entities
from handlers.nlu.classifier import LOW_CONFIDENCE
from handlers.turn import Turn
from storage import repositories as repo

MENU = (
    ("topic_benefits_overview", "t:benefits_overview"),
    ("topic_contribution", "t:contribution"),
    ("topic_register", "t:register"),
    ("topic_payment", "t:payment"),
    ("topic_claim", "t:claim"),
    ("topic_office_contact", "t:office_contact"),
    ("topic_human", "t:human"),
)
# Intents answered by a template of the same name and nothing else.
PLAIN = {
    "benefits_overview",
    "benefit_jkk",
    "benefit_jkm",
    "benefit_jht",
    "eligibility",
    "payment",
    "claim",
    "office_contact",
    "thanks_bye",
}
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
}
_EXAMPLE_INCOMES = (1_500_000, 2_000_000, 3_000_000)  # quick answers to "what is your income?"
_SHORT_FOLLOW_UP_WORDS = 6
_BARE_FOLLOW_UP_WORDS = 3


def menu_buttons(turn: Turn) -> list[Button]:
    return [turn.button(key, payload) for key, payload in MENU]


def topic_button(turn: Turn, intent: str) -> Button:
    return turn.button(f"topic_{intent}", f"t:{intent}")


def greet(turn: Turn, *, first_time: bool) -> None:
    turn.state.topic = None
    turn.say("greet", first_time=first_time, name=turn.contact.display_name, buttons=menu_buttons(turn))


def menu(turn: Turn, *, intro: bool) -> None:
    turn.say("menu", intro=intro, buttons=menu_buttons(turn))


def set_language(turn: Turn, lang: str) -> None:
    if lang not in ("id", "en"):
        lang = "id"
    turn.contact.language = lang
    turn.intent = "language"
    turn.say("language_set", buttons=menu_buttons(turn))


async def understand(turn: Turn) -> None:
    text = turn.text
    prediction = turn.services.matcher.predict(text)
    money = entities.parse_money(text)
    programmes = entities.parse_programmes(text)
    occupation = entities.parse_occupation(text)
    short = len(text.split()) <= _SHORT_FOLLOW_UP_WORDS
    unsure = prediction.confidence < LOW_CONFIDENCE
    entity = money is not None or programmes is not None or occupation is not None

    wants_calc = prediction.intent == "contribution" and entity
    # "kalau 3 program?", "sy ojol" right after a quote refine it; "sy ojol bisa ikut ga?" is a new question.
    follow_up = (
        turn.state.topic == "contribution"
        and entity
        and (unsure or len(text.split()) <= _BARE_FOLLOW_UP_WORDS)
    )
    bare_amount = money is not None and (unsure or short and prediction.intent in ("greet", "out_of_scope"))
    if wants_calc or follow_up or bare_amount:
        turn.intent = "contribution"
        await calculate(turn, income=money, programmes=programmes, occupation=occupation)
        return
    if unsure:
        await _not_sure(turn, prediction.ranking, prediction.intent, prediction.confidence)
        return
    turn.intent = prediction.intent
    if prediction.intent == "out_of_scope":
        await _log_unanswered(turn, prediction.intent, prediction.confidence)
    await answer(turn, prediction.intent)


async def answer(turn: Turn, intent: str) -> None:
    turn.intent = turn.intent or intent
    if intent == "greet":
        greet(turn, first_time=False)
        return
    if intent == "contribution":
        await calculate(turn)
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
    if intent not in PLAIN and intent != "out_of_scope":
        turn.say("stale_button")
        menu(turn, intro=False)
        return
    turn.state.topic = intent
    buttons = [topic_button(turn, nxt) for nxt in NEXT.get(intent, ())]
    buttons.append(turn.button("menu", "menu"))
    turn.say(intent, buttons=buttons)


async def calculate(
    turn: Turn,
    *,
    income: int | None = None,
    programmes: int | None = None,
    occupation: str | None = None,
) -> None:
    """Quote the contribution, remembering income, programmes and occupation for follow-ups."""
    turn.state.topic = "contribution"
    remembered = dict(turn.data.get("calc") or {})
    if income is not None:
        remembered["income"] = income
    if programmes is not None:
        remembered["programmes"] = programmes
    if occupation is not None:
        remembered["occupation"] = occupation
    turn.save_data(calc=remembered)

    if "income" not in remembered:
        _minimum(turn, remembered.get("programmes", 2), remembered.get("occupation"))
        return
    minimum = calculator.minimum_income()
    if remembered["income"] < minimum:
        turn.say("contribution_below_minimum", income=remembered["income"], minimum=minimum)
        return
    transport = occupations.is_transport(remembered.get("occupation"))
    quote = calculator.quote(remembered["income"], remembered.get("programmes", 2), turn.today, transport)
    turn.say(
        "contribution_quote",
        quote=quote,
        transport=transport,
        occupation=occupations.label(remembered.get("occupation"), turn.lang),
        buttons=_calc_buttons(turn, quote.normal.programmes),
    )


def _minimum(turn: Turn, programmes: int, occupation: str | None) -> None:
    minimum = calculator.minimum_income()
    transport = occupations.is_transport(occupation)
    quote = calculator.quote(minimum, programmes, turn.today, transport)
    other = calculator.relief_for(quote.normal, turn.today, False)
    by_transport = calculator.relief_for(quote.normal, turn.today, True)
    buttons = [Button(juta(amount, turn.lang), f"calc:i={amount}") for amount in _EXAMPLE_INCOMES]
    turn.say(
        "contribution_minimum",
        quote=quote,
        occupation_known=occupation is not None,
        transport=transport,
        relief_other=other,
        relief_transport=by_transport,
        buttons=buttons + _calc_buttons(turn, programmes)[:1],
    )


def _calc_buttons(turn: Turn, programmes: int) -> list[Button]:
    switch = turn.button("calc_with_jht", "calc:p=3") if programmes == 2 else turn.button("calc_without_jht", "calc:p=2")
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
    turn.intent = "unsure"
    await _log_unanswered(turn, guess, confidence)
    # Topics to read about; stopping messages or deleting data is never offered as a guess.
    skip = ("out_of_scope", "greet", "thanks_bye", "opt_out", "delete_data", "human")
    likely = [intent for intent, _ in ranking if intent not in skip][:3]
    buttons = [topic_button(turn, intent) for intent in likely]
    buttons.append(topic_button(turn, "human"))
    turn.say("not_sure", buttons=buttons)


async def _log_unanswered(turn: Turn, guess: str | None, confidence: float | None) -> None:
    from handlers.nlu.normalize import normalize
    from handlers.redact import redact

    masked = redact(turn.text)
    await repo.log_unanswered(turn.session, turn.contact.id, masked, redact(normalize(turn.text)), guess, confidence)
