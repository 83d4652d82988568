"""A person answers a worker who asked for one: `/balas ID text`, `/selesai ID note`, and the
buttons of the alert (Balas, Tandai selesai), which ask for the text in the next message.

`/balas` alone lists the open requests the staff member may act on. Who may act is decided in
handlers.handover_desk (the area rule); the request is loaded through it on every call, so a
coordinator moved to another area can no longer answer. The reply reaches the worker through
the delivery outbox on their channel.
"""

from __future__ import annotations

from handlers import acts
from handlers import handover_desk as desk
from handlers.staff.common import HANDOVER_ROLES, area_name, show_menu, staff_of, to_int
from handlers.turn import Turn
from storage.dashboard_models import CallbackRequest
from storage.models import Staff

COMMANDS = ("/balas", "/selesai")
HANDOVER_STEP = "staff_handover:"  # staff_handover:reply:<id> or staff_handover:done:<id>
SHOWN = 10


async def command(turn: Turn, staff: Staff | None, word: str, rest: str) -> None:
    """`/balas [ID [text]]` or `/selesai ID [note]`."""
    if staff is None or staff.role not in HANDOVER_ROLES:
        show_menu(turn)
        return
    first, _, text = rest.strip().partition(" ")
    request_id = to_int(first.lstrip("#"))
    action = "reply" if word == "/balas" else "done"
    if request_id is None:
        if action == "reply" and not first:
            await _list(turn, staff)
        else:
            turn.say("staff_handover_usage", action=action)
        return
    await _act(turn, staff, action, request_id, text.strip())


async def button(turn: Turn, staff: Staff | None, arg: str) -> None:
    """`s:ho:reply:<id>` or `s:ho:done:<id>`: the next message is the reply or the note."""
    action, _, request_text = arg.partition(":")
    request = await desk.visible(turn.session, staff, to_int(request_text))
    if staff is None or staff.role not in HANDOVER_ROLES or action not in ("reply", "done") or request is None:
        turn.say("stale_button")
        show_menu(turn)
        return
    if request.status != "open":
        turn.say("staff_handover_closed_already", request_id=request.id)
        return
    turn.state.step = f"{HANDOVER_STEP}{action}:{request.id}"
    turn.say("staff_handover_ask", action=action, request_id=request.id, cancel=turn.label("cancel"))


async def answer(turn: Turn) -> bool:
    """The text after a Balas / Tandai selesai button; False when none was pressed."""
    step = turn.state.step or ""
    if not step.startswith(HANDOVER_STEP):
        return False
    turn.state.step = None
    turn.intent = "staff_handover"
    if acts.act(turn.text) == "cancel":
        turn.say("staff_note_cancelled")
        return True
    action, _, request_text = step.removeprefix(HANDOVER_STEP).partition(":")
    staff = await staff_of(turn)
    if staff is None or staff.role not in HANDOVER_ROLES or to_int(request_text) is None:
        turn.say("stale_button")
        show_menu(turn)
        return True
    await _act(turn, staff, action, int(request_text), (turn.msg.text or "").strip())
    return True


async def _act(turn: Turn, staff: Staff, action: str, request_id: int, text: str) -> None:
    request = await desk.visible(turn.session, staff, request_id)
    if request is None:
        turn.say("staff_handover_not_found", request_id=request_id)
        return
    if request.status != "open":
        turn.say("staff_handover_closed_already", request_id=request.id)
        return
    if not text:
        turn.state.step = f"{HANDOVER_STEP}{action}:{request.id}"
        turn.say("staff_handover_ask", action=action, request_id=request.id, cancel=turn.label("cancel"))
        return
    turn.intent = f"staff_handover:{action}"
    if action == "reply":
        # the channels with a delivery lane (the registry's bulk channels) reach the worker later
        await desk.reply(turn.session, request, staff, text, turn.now, turn.services.broadcast_channels)
        turn.say("staff_handover_sent", request_id=request.id)
    else:
        await desk.close(turn.session, request, staff, text, turn.now, turn.services.broadcast_channels)
        turn.say("staff_handover_done", request_id=request.id)


async def _list(turn: Turn, staff: Staff) -> None:
    requests = await desk.open_requests(turn.session, staff, SHOWN)
    turn.say("staff_handover_list", requests=[_view(r) for r in requests])


def _view(request: CallbackRequest) -> dict[str, object]:
    question = request.question.replace("\n", " ")
    return {
        "id": request.id,
        "area": area_name(request.kecamatan_code),
        "phone": request.phone_e164,
        "question": question[:120] + ("…" if len(question) > 120 else ""),
        "replied": request.replied_at is not None,
    }
