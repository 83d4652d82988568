"""The main menu: its buttons and the menu answer. Every flow that ends offers it; keeping it here
lets the flows (topics, the lead form, rights, staff) end without importing one another."""

from __future__ import annotations

from handlers.messages import Button
from handlers.turn import Turn

MENU = (
    ("topic_benefits_overview", "t:benefits_overview"),
    ("topic_contribution", "t:contribution"),
    ("topic_register", "t:register"),
    ("topic_payment", "t:payment"),
    ("topic_claim", "t:claim"),
    ("topic_office_contact", "t:office_contact"),
    ("topic_human", "t:human"),
)


def menu_buttons(turn: Turn) -> list[Button]:
    return [turn.button(key, payload) for key, payload in MENU]


def topic_button(turn: Turn, intent: str) -> Button:
    return turn.button(f"topic_{intent}", f"t:{intent}")


def menu(turn: Turn, *, intro: bool) -> None:
    turn.say("menu", intro=intro, buttons=menu_buttons(turn))
