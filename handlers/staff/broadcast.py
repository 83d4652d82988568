"""/broadcast in chat: staff and admins compose an announcement (template or text, area, preview,
confirm); `/broadcast ID` shows how one is going.

A short conversation kept in the state: step `staff_broadcast:<stage>`, the choices so far in
data["broadcast"] (saved by the engine after every message, so any process may answer the next):
  what    -> a template button (s:bc:tpl:<name>) or the announcement typed as text
  var     -> the template's variables, one message each (a date as 2026-12-01; "-" for none)
  area    -> a kabupaten/kota of the outreach (s:bc:area:<code>) or everyone (s:bc:area:all)
  confirm -> the preview the CLI shows; Kirim sekarang (s:bc:go) or Batal (s:bc:no)
The staff table is checked at every stage. A button of a stage already passed is stale, so
"Kirim sekarang" pressed twice creates one broadcast. The broadcast itself is made by
handlers.broadcasts (the CLI's code); `bpu-bot run` fans it out and sends it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from content import regions
from content.render import template_variables
from handlers import acts, broadcasts
from handlers.messages import Button
from handlers.staff.common import BROADCAST_ROLES, show_menu, staff_of, to_int
from handlers.text import keyword
from handlers.turn import Turn
from storage import repositories as repo
from storage.models import Staff

BROADCAST_STEP = "staff_broadcast:"
BROADCAST_TEXT_MAX = 3500  # one Telegram message (4096) with room to spare; WhatsApp allows 4096 too
_BC = "broadcast"
_BC_STAGES = ("what", "var", "area", "confirm")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


async def broadcast_answer(turn: Turn) -> bool:
    """A message typed while composing a broadcast (state step `staff_broadcast:<stage>`).

    False when the contact is not composing one (the engine carries on).
    """
    step = turn.state.step or ""
    if not step.startswith(BROADCAST_STEP):
        return False
    turn.intent = "staff_broadcast"
    stage = step.removeprefix(BROADCAST_STEP)
    staff = await staff_of(turn)
    if staff is None or staff.role not in BROADCAST_ROLES or stage not in _BC_STAGES:
        end(turn)
        show_menu(turn)
        return True
    if acts.act(turn.text) == "cancel":
        end(turn)
        turn.say("staff_broadcast_cancelled")
        return True
    if turn.text.startswith("/"):  # /start, /menu...: the broadcast is left, the engine answers
        end(turn)
        return False
    draft = dict(turn.data.get(_BC) or {})
    if stage == "what":
        text = _CONTROL_CHARS.sub("", unicodedata.normalize("NFC", turn.msg.text or "")).strip()
        if len(text) > BROADCAST_TEXT_MAX:
            turn.say("staff_broadcast_too_long", length=len(text), max_len=BROADCAST_TEXT_MAX)
            return True
        draft.update(text=text, template=None, variables={})
        _ask_area(turn, draft)
    elif stage == "var":
        await _take_variable(turn, draft)
    elif stage == "area":
        code = _area_typed(turn.text)
        if code is None:
            _ask_area(turn, draft, again=True)
        else:
            await _show_preview(turn, draft, code)
    elif acts.act(turn.text, at="broadcast_confirm") in ("send", "agree"):
        await _broadcast_create(turn, staff, draft)
    else:
        turn.say("staff_broadcast_confirm_again", buttons=_confirm_buttons(turn))
    return True


async def start(turn: Turn, arg: str) -> None:
    broadcast_id = to_int(arg.lstrip("#"))
    if arg and broadcast_id is not None:  # `/broadcast 12`: how that broadcast is going
        await _broadcast_status(turn, broadcast_id)
        return
    turn.state.step = f"{BROADCAST_STEP}what"
    turn.save_data(**{_BC: {}})
    buttons = [Button(_template_label(name), f"s:bc:tpl:{name}") for name in _broadcast_templates(turn)]
    turn.say("staff_broadcast_start", max_len=BROADCAST_TEXT_MAX,
             buttons=[*buttons, turn.button("cancel", "s:bc:no")])  # fmt: skip


async def button(turn: Turn, staff: Staff | None, arg: str) -> None:
    step = turn.state.step or ""
    stage = step.removeprefix(BROADCAST_STEP) if step.startswith(BROADCAST_STEP) else None
    action, _, value = arg.partition(":")
    turn.intent = f"staff_broadcast:{action}"
    if staff is None or staff.role not in BROADCAST_ROLES:
        if stage is not None:
            end(turn)
        turn.say("stale_button")
        show_menu(turn)
        return
    draft = dict(turn.data.get(_BC) or {})
    if action == "no" and stage is not None:
        end(turn)
        turn.say("staff_broadcast_cancelled")
    elif action == "tpl" and stage == "what" and value in _broadcast_templates(turn):
        draft.update(template=value, text=None, variables={}, missing=list(template_variables(value)))
        await _next_variable(turn, draft)
    elif action == "area" and stage == "area" and (value == "all" or value in _outreach_codes()):
        await _show_preview(turn, draft, None if value == "all" else value)
    elif action == "go" and stage == "confirm":
        await _broadcast_create(turn, staff, draft)
    else:  # pressed twice, or a button of a stage already passed
        turn.say("stale_button")


async def _take_variable(turn: Turn, draft: dict[str, Any]) -> None:
    missing = list(draft.get("missing") or [])
    if not missing:  # cannot happen through the buttons; start the stage again
        await _next_variable(turn, draft)
        return
    name, value = missing[0], (turn.text or "").strip()
    if value == "-":
        value = ""
    elif name == "date":
        parsed = _date_typed(value)
        if parsed is None:
            turn.say("staff_broadcast_bad_date", value=value[:40])
            return
        value = parsed.isoformat()
    elif not value or len(value) > 200:
        turn.say("staff_broadcast_var", name=name, which=_template_label(draft["template"]))
        return
    draft["variables"] = {**(draft.get("variables") or {}), name: value}
    draft["missing"] = missing[1:]
    await _next_variable(turn, draft)


async def _next_variable(turn: Turn, draft: dict[str, Any]) -> None:
    missing = draft.get("missing") or []
    if missing:
        turn.state.step = f"{BROADCAST_STEP}var"
        turn.save_data(**{_BC: draft})
        turn.say("staff_broadcast_var", name=missing[0], which=_template_label(draft["template"]))
        return
    _ask_area(turn, draft)


def _ask_area(turn: Turn, draft: dict[str, Any], *, again: bool = False) -> None:
    turn.state.step = f"{BROADCAST_STEP}area"
    turn.save_data(**{_BC: draft})
    buttons = [Button(region.name, f"s:bc:area:{region.code}") for region in regions.outreach_kabkota()]
    buttons.append(turn.button("broadcast_all_areas", "s:bc:area:all"))
    turn.say("staff_broadcast_area", again=again, buttons=[*buttons, turn.button("cancel", "s:bc:no")])


async def _show_preview(turn: Turn, draft: dict[str, Any], area: str | None) -> None:
    segment = {"area": area} if area else {}
    channels = broadcasts.parse_channels(None, turn.services.broadcast_channels)
    try:
        p = await broadcasts.preview(
            turn.session, turn.services.renderer, segment=segment, channels=channels, template=draft.get("template"),
            text=draft.get("text"), variables=draft.get("variables") or {}, now=turn.now,
            daily_limit=turn.services.whatsapp_daily_limit,
        )  # fmt: skip
    except Exception as exc:  # a template variable it cannot use, most often
        end(turn)
        turn.say("staff_broadcast_error", error=f"{type(exc).__name__}: {exc}"[:200])
        return
    draft["segment"] = segment
    turn.state.step = f"{BROADCAST_STEP}confirm"
    turn.save_data(**{_BC: draft})
    region = regions.get(area) if area else None
    share = p.whatsapp_share
    turn.say(
        "staff_broadcast_preview",
        p=p,
        area=region.name if region else None,
        left=max(0, p.whatsapp_daily_limit - p.whatsapp_used_24h),
        share=None if share is None else round(100 * share),
        text=p.texts["id"],
        buttons=_confirm_buttons(turn),
    )


async def _broadcast_create(turn: Turn, staff: Staff, draft: dict[str, Any]) -> None:
    end(turn)
    b = await broadcasts.create(
        turn.session, created_by=f"staff:{staff.id}", segment=draft.get("segment") or {},
        channels=broadcasts.parse_channels(None, turn.services.broadcast_channels), template=draft.get("template"),
        text=draft.get("text"),
        variables=draft.get("variables") or {}, now=turn.now,
        telegram_username=turn.services.telegram_username, whatsapp_number=turn.services.whatsapp_number,
    )  # fmt: skip
    await repo.audit(turn.session, f"staff:{staff.id}", "broadcast_create", broadcast_id=b.id,
                     template=b.template, segment=b.segment)  # fmt: skip
    turn.say("staff_broadcast_created", broadcast_id=b.id)


async def _broadcast_status(turn: Turn, broadcast_id: int) -> None:
    try:
        st = await broadcasts.status(turn.session, broadcast_id)
    except LookupError:
        turn.say("staff_broadcast_not_found", broadcast_id=broadcast_id)
        return
    turn.say(
        "staff_broadcast_status",
        broadcast_id=broadcast_id,
        status=st.broadcast.status,
        total=st.total,
        finished=st.finished,
        sent=st.counts.get("sent", 0),
        skipped=st.counts.get("skipped", 0),
        failed=st.counts.get("failed", 0),
        waiting=st.waiting,
    )


def end(turn: Turn) -> None:
    turn.state.step = None
    turn.drop_data(_BC)


def _confirm_buttons(turn: Turn) -> list[Button]:
    return [turn.button("broadcast_send_now", "s:bc:go"), turn.button("cancel", "s:bc:no")]


def _broadcast_templates(turn: Turn) -> list[str]:
    return [n for n in turn.services.renderer.template_names() if n.startswith("broadcast_")]


def _template_label(name: str) -> str:
    return name.removeprefix("broadcast_").replace("_", " ").capitalize()


def _outreach_codes() -> list[str]:
    return [region.code for region in regions.outreach_kabkota()]


def _area_typed(text: str) -> str | None:
    """A typed area: "semua" -> "" (everyone), a kabupaten/kota name or code -> its code, else None."""
    word = keyword(text)
    if acts.control(text) == "all_areas":
        return ""
    outreach = regions.outreach_kabkota()
    exact = [r.code for r in outreach if word in (r.code, keyword(r.name))]
    partial = [r.code for r in outreach if word and keyword(r.name).endswith(" " + word)]
    found = exact or partial
    return found[0] if len(found) == 1 else None  # "serang" alone is two places: ask again


def _date_typed(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()  # noqa: DTZ007  # a calendar date, no time
        except ValueError:
            continue
    return None
