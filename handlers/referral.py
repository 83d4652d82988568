"""Referrals: a worker who left a lead gets a personal invitation to share with fellow workers.

Leads that arrive through it carry the referral code as their campaign code, which names
the referrer (handlers.links.referrer_of); the dashboard counts them per referrer and area.
"""

from __future__ import annotations

from handlers import links
from handlers.turn import Turn
from storage import repositories as repo


async def invite(turn: Turn) -> None:
    turn.intent = "referral"
    if not await repo.leads_of_contact(turn.session, turn.contact.id):
        turn.say("referral_needs_lead", buttons=[turn.button("topic_register", "t:register")])
        return
    code = links.referral_code(turn.contact.id, turn.services.cipher)
    services = turn.services
    # The invitation is a message of its own, to forward as it is: the thanks (and the menu
    # button, which keeps the two apart, see merge_replies) come first.
    turn.say("referral_invite", buttons=[turn.button("menu", "menu")])
    turn.say(
        "referral_message",
        telegram=links.telegram_link(services.telegram_username, code),
        whatsapp=links.whatsapp_link(services.whatsapp_number, code),
        whatsapp_text=links.whatsapp_text(code),
    )
