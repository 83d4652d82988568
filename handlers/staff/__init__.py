"""Staff commands in chat, routed here by the engine; the staff table is checked on every call.

- leads.py: `/leads`, `/lead ID`, `/stats`, the status and note buttons (coordinators, admins;
  `/stats` for every staff member);
- broadcast.py: `/broadcast` (staff, admins), a short dialogue ending in a broadcast;
- handover.py: `/balas ID text`, `/selesai ID note` and the buttons of a handover alert;
- `/tambah` (and "tambah peserta", WhatsApp having no commands): field entry, in handlers.lead_form.

Anyone not entitled who types a command gets the ordinary menu; a staff button pressed by
someone no longer entitled is a stale button.
"""

from __future__ import annotations

from handlers import lead_form
from handlers.staff import broadcast, handover, leads
from handlers.staff.broadcast import BROADCAST_STEP, BROADCAST_TEXT_MAX, broadcast_answer
from handlers.staff.common import BROADCAST_ROLES, LEAD_ROLES, STATS_ROLES, show_menu, staff_of, to_int
from handlers.staff.handover import HANDOVER_STEP
from handlers.staff.handover import answer as handover_answer
from handlers.staff.leads import NOTE_STEP, note
from handlers.turn import Turn

__all__ = ["BROADCAST_STEP", "BROADCAST_TEXT_MAX", "COMMANDS", "HANDOVER_STEP", "NOTE_STEP", "broadcast_answer",
           "button", "command", "field_entry", "handover_answer", "note"]  # fmt: skip

COMMANDS = ("/leads", "/lead", "/stats", "/tambah", "/broadcast", *handover.COMMANDS)


async def command(turn: Turn) -> bool:
    """Handle a staff command; False when the text is not one (the engine carries on)."""
    word, _, rest = turn.text.partition(" ")
    word = word.split("@", 1)[0].lower()
    step = turn.state.step or ""
    if step.startswith((NOTE_STEP, HANDOVER_STEP)):
        turn.state.step = None  # any command leaves a note or a reply unwritten
    if word not in COMMANDS:
        return False
    if step.startswith(BROADCAST_STEP):
        broadcast.end(turn)  # ...and a broadcast unsent
    staff = await staff_of(turn)
    turn.intent = f"staff{word}"
    if word in handover.COMMANDS:
        # The text after the id is the reply as typed (cased, with its line breaks).
        typed = (turn.msg.text or "").strip().partition(" ")[2]
        await handover.command(turn, staff, word, typed)
    elif word == "/stats" and staff is not None and staff.role in STATS_ROLES:
        await leads.show_stats(turn, staff)
    elif word == "/leads" and staff is not None and staff.role in LEAD_ROLES:
        await leads.show_leads(turn, staff)
    elif word == "/broadcast" and staff is not None and staff.role in BROADCAST_ROLES:
        await broadcast.start(turn, rest.strip())
    elif word == "/tambah" and staff is not None and staff.role in LEAD_ROLES:
        await lead_form.start_field_entry(turn, staff)
    elif word == "/lead" and staff is not None and staff.role in LEAD_ROLES:
        lead_id = to_int(rest.strip().lstrip("#"))
        if lead_id is None:
            turn.say("staff_lead_usage")
        else:
            await leads.show_lead(turn, staff, lead_id)
    else:
        show_menu(turn)
    return True


async def button(turn: Turn, rest: str) -> None:
    """A staff button (`s:...`); pressed by someone not in the staff table, it is a stale button."""
    action, _, arg = rest.partition(":")
    staff = await staff_of(turn)
    if action == "bc":
        await broadcast.button(turn, staff, arg)
    elif action == "ho":
        await handover.button(turn, staff, arg)
    else:
        await leads.lead_button(turn, staff, action, arg)


async def field_entry(turn: Turn) -> bool:
    """ "tambah peserta" (WhatsApp has no commands): a coordinator adds a worker met in person."""
    staff = await staff_of(turn)
    if staff is None or staff.role not in LEAD_ROLES:
        return False
    turn.intent = "staff/tambah"
    await lead_form.start_field_entry(turn, staff)
    return True
