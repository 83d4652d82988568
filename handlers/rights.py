"""A worker's rights over their data (UU 27/2022): stop messages, see what is kept, delete it."""

from __future__ import annotations

from content import regions
from handlers import acts, menu, occupations
from handlers.turn import Turn
from storage import repositories as repo

OPT_OUT_STEP = "opt_out_confirm"


async def opt_out(turn: Turn) -> None:
    turn.intent = "opt_out"
    if turn.state.step == OPT_OUT_STEP:
        turn.state.step = None
    already = turn.contact.opted_out_at is not None
    if not already:
        turn.contact.opted_out_at = turn.now
    turn.say("opt_out", already=already)


def ask_opt_out(turn: Turn) -> None:
    turn.intent = "opt_out"
    turn.state.step = OPT_OUT_STEP
    turn.say("opt_out_confirm", buttons=[turn.button("stop_yes", "stop:yes"), turn.button("stop_no", "menu")])


async def confirm_opt_out_text(turn: Turn) -> bool:
    """A typed answer to "Yakin mau berhenti?"; False when it is no answer (the message is read as usual)."""
    turn.state.step = None
    said = acts.act(turn.text, at=OPT_OUT_STEP)
    if said == "agree":
        await opt_out(turn)
        return True
    if said in ("decline", "cancel", "back"):
        turn.intent = "opt_out_declined"
        menu.menu(turn, intro=False)
        return True
    return False


async def opt_in(turn: Turn) -> None:
    resume(turn)


def resume(turn: Turn) -> None:
    """Messages again (the engine's "mulai", or "start" typed where the menu would be shown)."""
    turn.intent = "opt_in"
    turn.contact.opted_out_at = None
    turn.say("opt_in", buttons=menu.menu_buttons(turn))


async def show_my_data(turn: Turn) -> None:
    turn.intent = "my_data"
    contact = turn.contact
    leads = await repo.leads_of_contact(turn.session, contact.id)
    messages = await repo.count_messages(turn.session, contact.id)
    shown = [
        {
            "name": lead.full_name,
            "nik": lead.nik_masked,
            "dob": lead.birth_date,
            "phone": _mask(lead.phone_e164),
            "area": _area(lead.kecamatan_code),
            "occupation": occupations.label(lead.occupation, turn.lang),
            "income": lead.declared_income,
            "status": turn.label(f"status_{lead.status}"),
            "created": lead.created_at,
        }
        for lead in leads
    ]
    turn.say(
        "my_data",
        contact=contact,
        leads=shown,
        messages=messages,
        buttons=[turn.button("delete_my_data", "del:ask"), turn.button("menu", "menu")],
    )


def _mask(phone: str) -> str:
    from handlers.redact import mask_phone

    return mask_phone(phone)


def _area(code: str) -> str:
    kecamatan = regions.get(code)
    kabkota = regions.get(code[:4])
    return ", ".join(r.name for r in (kecamatan, kabkota) if r)


def ask_delete(turn: Turn) -> None:
    turn.intent = "delete_data"
    turn.state.step = "delete_confirm"
    turn.say("delete_confirm", buttons=[turn.button("delete_yes", "del:yes"), turn.button("delete_no", "del:no")])


async def confirm_delete_text(turn: Turn) -> None:
    said = acts.act(turn.text, at="delete_confirm")
    if said == "agree":
        await confirm_delete(turn, True)
    elif said in ("decline", "cancel", "back"):
        await confirm_delete(turn, False)
    else:
        turn.say("delete_choose", buttons=[turn.button("delete_yes", "del:yes"), turn.button("delete_no", "del:no")])


async def delete_button(turn: Turn, choice: str) -> None:
    """`del:ask` from the my-data answer; `del:yes` / `del:no` answer the confirmation."""
    if choice == "ask" or (choice == "yes" and turn.state.step != "delete_confirm"):
        ask_delete(turn)  # an old "yes" button never deletes without a fresh confirmation
        return
    await confirm_delete(turn, choice == "yes")


async def confirm_delete(turn: Turn, yes: bool) -> None:
    if not yes:
        turn.state.step = None
        turn.say("delete_cancelled", buttons=menu.menu_buttons(turn))
        return
    contact_id = turn.contact.id
    await repo.delete_contact(turn.session, turn.contact, turn.state)
    await repo.audit(turn.session, f"contact:{contact_id}", "data_deleted", channel=turn.contact.channel)
    turn.deleted = True
    turn.intent = "data_deleted"
    turn.say("deleted")
