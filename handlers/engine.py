"""The channel-neutral engine: an incoming message in, replies out.

Each message is handled in one database transaction: the update is recorded by its
platform id, the contact and its conversation state are loaded, a handler runs, and
state, lead and (masked) message log are written together. An error rolls all of it
back, so nothing half-written stays, and the worker gets a kind answer; except when the
database is out of reach and the channel holds the message in its inbox (`held=True`):
then `DatabaseUnavailable` tells the channel to handle it again later, and the worker is
not told to send again a question that will be answered anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from content.render import Renderer
from handlers import acts, handover, lead_form, links, menu, referral, reminders, rights, staff, topics
from handlers.messages import NUMBERED_MENU, IncomingMessage, Kind, Reply, merge_replies
from handlers.nlu import IntentMatcher
from handlers.nlu.language import follow as follow_language
from handlers.redact import redact
from handlers.staff_identity import IdentityRules
from handlers.text import clean
from handlers.turn import Services, Turn
from storage import repositories as repo
from storage.clock import utcnow
from storage.crypto import FieldCipher
from storage.db import Database

log = logging.getLogger(__name__)

# What a database out of reach raises: refused or lost connections, a locked SQLite file, an
# exhausted pool. The driver's own errors (OSError from a socket) may come through unwrapped.
_OUTAGE = (OperationalError, InterfaceError, PoolTimeout, OSError, TimeoutError)


class DatabaseUnavailable(Exception):
    """The database could not be reached while handling a message the channel holds in its
    inbox. Nothing was written; the channel keeps the message and handles it again later."""


def is_database_outage(exc: BaseException) -> bool:
    """True when `exc`, or an error it was raised from, says the database is out of reach."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (DatabaseUnavailable, *_OUTAGE)):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        seen.add(id(current))
        current = current.__cause__
    return False


@dataclass(frozen=True, slots=True)
class Handled:
    """What became of one update, for whoever counts (bot/metrics.py): never its text."""

    channel: str
    outcome: str  # "answered", "replay" (seen before), "group", "error", "held" (kept for later)
    intent: str | None
    seconds: float


class Engine:
    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        matcher: IntentMatcher,
        *,
        renderer: Renderer | None = None,
        timezone: str = "Asia/Jakarta",
        office_hours: str | None = None,
        telegram_username: str | None = None,
        whatsapp_number: str | None = None,
        reminder_days_before: int = 3,
        reminder_hour: int = 9,
        whatsapp_daily_limit: int = 250,
        broadcast_channels: Sequence[str] = (),
        staff_identities: IdentityRules | None = None,
        user_phones: Mapping[str, Callable[[str], str | None]] | None = None,
        clock: Callable[[], datetime] = utcnow,
        observe: Callable[[Handled], None] | None = None,
    ) -> None:
        self.db = db
        self.observe = observe  # told of every update handled (counts and latency; no content)
        self.services = Services(
            renderer or Renderer(),
            matcher,
            cipher,
            timezone,
            telegram_username=telegram_username,
            whatsapp_number=whatsapp_number,
            reminder_days_before=reminder_days_before,
            reminder_hour=reminder_hour,
            whatsapp_daily_limit=whatsapp_daily_limit,
            broadcast_channels=tuple(broadcast_channels),
            staff_identities=dict(staff_identities or {}),
            user_phones=dict(user_phones or {}),
        )
        if office_hours:
            self.services.office_hours = office_hours
        self.clock = clock
        self._tz = ZoneInfo(timezone)
        # Two fast messages from one user are handled in order, never interleaved.
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, channel: str, user_id: str) -> asyncio.Lock:
        key = (channel, user_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(self, msg: IncomingMessage, *, held: bool = False) -> list[Reply]:
        """The replies to `msg`. `held`: the channel keeps `msg` until it is handled (an inbox), so
        a database outage raises `DatabaseUnavailable` instead of answering with an apology."""
        if self.observe is None:
            return await self._handle_in_order(msg, held, _Seen())
        started, seen = time.perf_counter(), _Seen()
        try:
            replies = await self._handle_in_order(msg, held, seen)
        except DatabaseUnavailable:
            seen.outcome = "held"
            raise
        finally:
            self.observe(Handled(msg.channel, seen.outcome, seen.intent, time.perf_counter() - started))
        return replies

    async def _handle_in_order(self, msg: IncomingMessage, held: bool, seen: _Seen) -> list[Reply]:
        async with self._lock(msg.channel, msg.user_id):
            try:
                try:
                    return await self._handle(msg, seen)
                except DBAPIError as exc:
                    if not exc.connection_invalidated:
                        raise
                    # The database dropped the connection (a restart): nothing was written,
                    # so the message is handled once more on a fresh one, not lost.
                    log.warning("database connection lost; handling the message again")
                    return await self._handle(msg, seen)
            except IntegrityError:
                # Another process recorded the same update first: it answers, we stay silent.
                if msg.update_id:
                    log.info("update %s/%s handled elsewhere", msg.channel, msg.update_id)
                    seen.outcome = "replay"
                    return []
                log.exception("integrity error handling a message")
            except Exception as exc:
                if held and is_database_outage(exc):
                    log.warning("database unavailable (%s); %s update kept for later", type(exc).__name__, msg.channel)
                    raise DatabaseUnavailable(type(exc).__name__) from exc
                log.exception("error handling a message on %s", msg.channel)
            seen.outcome = "error"
            return self._apology(msg)

    def _apology(self, msg: IncomingMessage) -> list[Reply]:
        return self._render_plain("error", msg)

    def _render_plain(self, template: str, msg: IncomingMessage) -> list[Reply]:
        lang = msg.language_hint if msg.language_hint in ("id", "en") else "id"
        return [Reply(self.services.renderer.render(template, lang))]

    async def mark_unreachable(self, channel: str, user_id: str) -> None:
        """The platform says this user cannot be reached (blocked the bot): no more sends to them."""
        async with self.db.session() as session:
            await repo.mark_unreachable(session, channel, user_id, self.clock())

    async def _handle(self, msg: IncomingMessage, seen: _Seen) -> list[Reply]:
        if msg.extra.get("chat") == "group":
            # The bot works in private chats only; in a group it explains once and keeps nothing.
            seen.outcome = "group"
            return self._render_plain("group_only", msg)
        now = self.clock()
        async with self.db.turn() as store:
            language = msg.language_hint if msg.language_hint in ("id", "en") else "id"
            opened = await store.open(msg.channel, msg.user_id, msg.update_id or None, language=language, now=now)
            if opened is None:
                seen.outcome = "replay"
                return []  # this update was handled before
            contact, state, created = opened
            if NUMBERED_MENU in state.data:
                state.data = {k: v for k, v in state.data.items() if k != NUMBERED_MENU}
            contact.last_inbound_at = now
            if contact.unreachable_at is not None:
                contact.unreachable_at = None  # a message from them means they can be reached again
            if msg.display_name and not contact.display_name:
                contact.display_name = msg.display_name[:200]
            code = msg.start_code or links.code_in_text(msg.text)
            if code and links.valid_code(code) and links.referrer_of(code, self.services.cipher) != contact.id:
                contact.campaign_code = code  # the latest campaign or referral a worker came through
            turn = Turn(
                msg=msg,
                text=clean(msg.text),
                contact=contact,
                state=state,
                store=store,
                services=self.services,
                now=now,
                today=now.astimezone(self._tz).date(),
            )
            await dispatch(turn, created)
            seen.intent = turn.intent
            turn.replies = merge_replies(turn.replies)  # one message per answer, as sent and logged
            rows: list[dict[str, Any]] = []
            if not turn.deleted:
                rows = [
                    {
                        "contact_id": contact.id,
                        "direction": "in",
                        "text": _loggable(msg, turn.text),
                        "intent": turn.intent,
                    }
                ]
                rows += [{"contact_id": contact.id, "direction": "out", "text": redact(r.text), "intent": None}
                         for r in turn.replies]  # fmt: skip
            await store.finish(rows)
        if turn.deleted:
            await self._scrub()
        return turn.replies

    async def _scrub(self) -> None:
        """The worker's data is deleted; no copy may stay readable in the database files."""
        try:
            await self.db.scrub()
        except Exception:
            log.exception("deleted data may linger in the database files until the next checkpoint")


@dataclass(slots=True)
class _Seen:
    outcome: str = "answered"
    intent: str | None = None


def _loggable(msg: IncomingMessage, text: str) -> str:
    if msg.payload:
        return f"[button] {msg.payload}"
    if msg.kind not in (Kind.TEXT, Kind.BUTTON):
        return f"[{msg.kind.value}]"
    return redact(text)


async def dispatch(turn: Turn, created: bool) -> None:
    msg = turn.msg
    if msg.kind == Kind.CONTACT or (msg.kind not in (Kind.TEXT, Kind.BUTTON) and not msg.payload):
        await _non_text(turn)
        return
    if msg.payload:
        await _button(turn, msg.payload)
        return
    if not turn.text:
        turn.say("empty")
        await lead_form.reprompt(turn)
        return
    if not turn.text.startswith("/") and not (turn.state.step or "").startswith("staff_"):
        # Answered in the language the worker writes: clear English switches, clear Indonesian
        # switches back, a name, a number or "ok" keeps the current one.
        turn.contact.language = follow_language(turn.contact.language, turn.text)
    if turn.text.startswith("/") and await staff.command(turn):
        return
    if (turn.state.step or "").startswith("staff_note:") and await staff.note(turn):
        return
    if (turn.state.step or "").startswith(staff.BROADCAST_STEP) and await staff.broadcast_answer(turn):
        return
    if (turn.state.step or "").startswith(staff.HANDOVER_STEP) and await staff.handover_answer(turn):
        return
    if await reminders.handle_text(turn):
        return
    if await _global_word(turn, created):
        return
    step = turn.state.step or ""
    if step.startswith("form:"):
        await lead_form.answer(turn, turn.text)
        return
    if step == "delete_confirm":
        await rights.confirm_delete_text(turn)
        return
    if step == rights.OPT_OUT_STEP and await rights.confirm_opt_out_text(turn):
        return
    if not step and await handover.relay(turn):  # a person replied: the worker's words go to them
        return
    await topics.understand(turn)


async def _non_text(turn: Turn) -> None:
    msg = turn.msg
    if msg.kind == Kind.CONTACT and turn.state.step == "form:phone" and msg.contact_phone:
        await lead_form.answer(turn, msg.contact_phone, shared_contact=True)
        return
    turn.intent = f"[{msg.kind.value}]"
    turn.say("unsupported", kind=msg.kind.value)
    if not await lead_form.reprompt(turn):
        menu.menu(turn, intro=False)


async def _global_word(turn: Turn, created: bool) -> bool:
    """A whole message that is a control word (content/lexicon/acts.yaml) is obeyed at any step."""
    first = turn.text.split(maxsplit=1)[0] if turn.text else ""
    said = acts.control(turn.text)
    if acts.control(first) == "start" or said == "menu":
        turn.intent = "greet"
        lead_form.abandon(turn)
        topics.greet(turn, first_time=created)
        return True
    in_form = lead_form.current(turn) is not None
    if said == "help" and not in_form:  # in the form, help explains the step (handlers/lead_form.py)
        turn.intent = "help"
        menu.menu(turn, intro=True)
        return True
    if said == "field_entry" and await staff.field_entry(turn):
        return True
    if said == "stop":
        await rights.opt_out(turn)
        return True
    if said == "opt_in":
        await rights.opt_in(turn)
        return True
    if said == "my_data":
        await rights.show_my_data(turn)
        return True
    if said == "delete" and turn.state.step != "delete_confirm":  # there, "hapus" answers the question
        rights.ask_delete(turn)
        return True
    if acts.act(turn.text) == "cancel" and not in_form and turn.state.step != "delete_confirm":
        turn.say("nothing_to_cancel")
        menu.menu(turn, intro=False)
        return True
    if said in ("english", "indonesian"):
        topics.set_language(turn, "en" if said == "english" else "id")
        return True
    return False


async def _button(turn: Turn, payload: str) -> None:
    turn.intent = f"[button] {payload.split(':', 1)[0]}"
    kind, _, rest = payload.partition(":")
    if kind == "menu":
        lead_form.abandon(turn)
        menu.menu(turn, intro=False)
    elif kind == "t":
        await topics.answer(turn, rest)
    elif kind == "calc":
        await topics.calc_button(turn, rest)
    elif kind == "f":
        await lead_form.button(turn, rest)
    elif kind in ("rem", "rsvp"):
        await reminders.handle_button(turn, payload)
    elif kind == "ref":
        await referral.invite(turn)
    elif kind == "stop":
        await rights.opt_out(turn)
    elif kind == "del":
        await rights.delete_button(turn, rest)
    elif kind == "s":
        await staff.button(turn, rest)
    elif kind == "lang":
        topics.set_language(turn, rest)
    else:
        turn.say("stale_button")
        if not await lead_form.reprompt(turn):
            menu.menu(turn, intro=False)
