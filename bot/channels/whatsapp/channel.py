"""The WhatsApp Cloud API channel: signed webhooks in, Graph API calls out.

POST /webhook/whatsapp: the X-Hub-Signature-256 HMAC is checked over the raw body before anything
is parsed (missing: 401, wrong: 403). The body is then written, encrypted, to the webhook inbox
and only when that commit succeeds does Meta get its 200; if the database cannot take it, Meta
gets a 503 and delivers again. Handling runs in the background; the inbox row is deleted when
it is done, and rows left by a crash are handled when the channel starts again. Each wamid is
answered once: the engine records it before handling. A message whose handling meets a database
outage is handled again once the database is back, never answered with an apology.

Plain httpx, not pywa: pywa 4.5 hard-codes https://graph.facebook.com as its base URL
(GraphAPI.__init__ overwrites the session's base_url), so it cannot be pointed at a local Graph
server, and its webhook side wants to own a Flask/FastAPI app. The wire formats we need are few
and are parsed in payloads.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels import order
from bot.channels.order import chat_key
from bot.channels.whatsapp.format import render
from bot.channels.whatsapp.graph import GraphClient, SendResult, status_for_error
from bot.channels.whatsapp.payloads import Inbound, Notification, Status, parse_notification
from bot.channels.whatsapp.window import can_send_free_form
from bot.safe_json import BadJSON, read_object
from bot.settings import TemplateConfig
from handlers.engine import DatabaseUnavailable
from handlers.messages import NUMBERED_MENU, Button, IncomingMessage, Kind, Reply
from storage import outbound
from storage import repositories as repo
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import Contact
from storage.outbound import WebhookInbox

if TYPE_CHECKING:
    from bot.channels.base import ChannelDeps
    from handlers.engine import Engine

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
PATH = "/webhook/whatsapp"
RETRY_DELAYS = (1.0, 30.0)  # seconds: the first and the longest pause while the database is out of reach


class WhatsAppChannel:
    name = CHANNEL

    def __init__(
        self,
        *,
        engine: Engine,
        db: Database,
        cipher: FieldCipher,
        graph: GraphClient,
        app_secret: str,
        verify_token: str,
        templates: dict[str, TemplateConfig] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.db = db
        self.cipher = cipher
        self.graph = graph
        self.templates = templates or {}
        self.clock = clock or engine.clock
        self._secret = app_secret.encode()
        self._verify_token = verify_token
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # In memory: a restart forgets them and the worker's "3" is read as text, which the
        # engine answers kindly; with several web processes Meta's retries may land elsewhere.
        self._stopped = False

    # -- the Channel protocol -------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route(PATH, self.verify, methods=["GET"]),
            Route(PATH, self.receive, methods=["POST"]),
        ]

    async def start(self) -> None:
        self._stopped = False
        self._spawn(self._resume_inbox())

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self.drain()
        await self.graph.aclose()

    def describe(self) -> str:
        return f"webhook {PATH}, sending to {self.graph.url}"

    async def drain(self) -> None:
        """Wait until every update received so far has been handled and answered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- webhook --------------------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        params = request.query_params
        token = params.get("hub.verify_token", "")
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(token.encode(), self._verify_token.encode()):
            return PlainTextResponse(params.get("hub.challenge", ""))
        return PlainTextResponse("Forbidden", status_code=403)

    async def receive(self, request: Request) -> Response:
        header = request.headers.get("x-hub-signature-256")
        if not header:
            return PlainTextResponse("missing signature", status_code=401)
        raw = await request.body()  # its size is bounded while it streams in, by bot/limits.py
        if not self.signature_ok(raw, header):
            return PlainTextResponse("bad signature", status_code=403)
        try:
            notification = parse_notification(read_object(raw))
        except BadJSON as exc:
            return PlainTextResponse(str(exc), status_code=400)
        if not notification.messages and not notification.statuses:
            return PlainTextResponse("OK")
        users = {message.user_id for message in notification.messages}
        chat = chat_key(users.pop()) if len(users) == 1 else None  # one chat's: kept in order
        try:
            inbox_id = await self._keep(raw, chat)
        except Exception:
            log.exception("whatsapp: the database cannot take the notification; Meta will deliver again")
            return PlainTextResponse("try again", status_code=503)
        self._spawn(self._process(inbox_id, notification, chat))
        return PlainTextResponse("OK")

    def signature_ok(self, raw: bytes, header: str) -> bool:
        expected = hmac.new(self._secret, raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, header.strip().removeprefix("sha256="))

    async def _keep(self, raw: bytes, chat: str | None = None) -> int:
        async with self.db.session() as session:
            row = WebhookInbox(channel=CHANNEL, body=self.cipher.encrypt(raw.decode("utf-8")), chat=chat)
            session.add(row)
            await session.flush()
            return row.id

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(self._guard(coro))  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guard(coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except Exception:
            log.exception("whatsapp: background handling failed")

    async def _resume_inbox(self) -> None:
        """Handle notifications acknowledged before a crash or restart."""
        async with self.db.session() as session:
            rows = await outbound.inbox_left(session, CHANNEL)
        for inbox_id, body in rows:
            try:
                notification = parse_notification(json.loads(self.cipher.decrypt(body)))
            except Exception:
                log.exception("whatsapp: inbox row %s cannot be read; dropped", inbox_id)
                notification = Notification()
            await self._process(inbox_id, notification)
        if rows:
            log.info("whatsapp: handled %d notifications left from before the restart", len(rows))

    async def _process(self, inbox_id: int, notification: Notification, chat: str | None = None) -> None:
        if chat is not None:
            # Another process may hold this chat's earlier message: it goes first.
            await order.wait_turn(self.db, CHANNEL, chat, inbox_id)
        sent: list[tuple[str, list[SendResult], tuple[Button, ...] | None]] = []
        for message in notification.messages:
            results, menu = await self._answer(message)
            if results:
                sent.append((message.user_id, results, menu))
        # What was sent, the statuses and the inbox row: one transaction (a commit is the cost on SQLite).
        now = self.clock()
        async with self.db.session() as session:
            for user_id, results, menu in sent:
                await self._record_in(session, user_id, results, "reply", now, menu=menu)
            if notification.statuses:
                await self._apply_statuses(session, notification.statuses, now)
            await session.execute(delete(WebhookInbox).where(WebhookInbox.id == inbox_id))

    # -- inbound messages -----------------------------------------------------------------

    async def _answer(self, inbound: Inbound) -> tuple[list[SendResult], tuple[Button, ...] | None]:
        # One user's messages are answered in order: their replies never interleave.
        async with self._lock(inbound.user_id):
            replies = await self._handle_held(self.to_incoming(inbound, await self._numbered_menu(inbound)))
            if not replies:
                return [], None
            to = inbound.group_id or inbound.user_id
            return await self._send_all(inbound.user_id, replies, to=to, group=bool(inbound.group_id))

    async def _numbered_menu(self, inbound: Inbound) -> tuple[Button, ...] | None:
        """The numbered menu last shown to this user, kept in the database (any process may have
        sent it); read only for a message that is a bare number."""
        if inbound.kind != Kind.TEXT or not (inbound.text or "").strip().isdigit():
            return None
        async with self.db.session() as session:
            contact = await repo.get_contact(session, CHANNEL, inbound.user_id)
            shown = (contact.state.data or {}).get(NUMBERED_MENU) if contact and contact.state else None
        return tuple(Button(label, payload) for label, payload in shown) if shown else None

    async def _handle_held(self, msg: IncomingMessage) -> list[Reply]:
        """The engine's replies. The notification is in the inbox, so a database outage is not
        answered with an apology: the message is tried again, later and later, and the user's
        next messages wait behind it. Stopping first leaves it in the inbox for the next start."""
        delay, longest = RETRY_DELAYS
        while True:
            try:
                return await self.engine.handle(msg, held=True)
            except DatabaseUnavailable:
                if self._stopped:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, longest)

    def to_incoming(self, inbound: Inbound, menu: tuple[Button, ...] | None = None) -> IncomingMessage:
        text, payload, kind = inbound.text, inbound.payload, inbound.kind
        if kind == Kind.TEXT and menu and text and text.strip().isdigit():
            number = int(text.strip())
            if 1 <= number <= len(menu):
                button = menu[number - 1]
                text, payload, kind = button.label, button.payload, Kind.BUTTON
        return IncomingMessage(
            channel=CHANNEL,
            user_id=inbound.user_id,
            text=text,
            payload=payload,
            kind=kind,
            contact_phone=inbound.contact_phone,
            update_id=inbound.wamid,
            timestamp=inbound.timestamp,
            display_name=inbound.display_name,
            phone_hint=f"+{inbound.wa_id}" if inbound.wa_id else None,
            extra={"chat": "group"} if inbound.group_id else {},
        )

    def _lock(self, user_id: str) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock

    # -- outbound -------------------------------------------------------------------------

    async def send_replies(
        self, user_id: str, replies: Sequence[Reply], *, to: str | None = None, group: bool = False,
        purpose: str = "reply", record: bool = True,
    ) -> list[SendResult]:  # fmt: skip
        """Send the engine's replies in order and record each with the wamid the Graph API returned
        (`record=False`: the caller records them, in a transaction of its own)."""
        results, menu = await self._send_all(user_id, replies, to=to, group=group)
        if record:
            await self._record(user_id, results, purpose, menu)
        return results

    async def _send_all(
        self, user_id: str, replies: Sequence[Reply], *, to: str | None = None, group: bool = False
    ) -> tuple[list[SendResult], tuple[Button, ...] | None]:
        """Send the replies; the results, and the numbered menu the last of them showed (if any)."""
        results: list[SendResult] = []
        menu: tuple[Button, ...] | None = None
        for reply in replies:
            rendered = render(reply)
            menu = rendered.menu or menu
            for message in rendered.messages:
                result = await self.graph.send(to or user_id, message, group=group)
                results.append(result)
                if result.status in (outbound.NEEDS_TEMPLATE, outbound.UNDELIVERABLE):
                    break  # the rest cannot arrive either
            else:
                continue
            break
        return results, menu

    async def send(self, user: str, replies: Sequence[Reply]) -> None:
        """The Channel interface: replies to a worker, recorded as `reply`."""
        await self.send_replies(user, replies)

    async def notify(self, user_id: str, purpose: str, text: str, variables: Sequence[str] = ()) -> SendResult:
        """A message the bot starts (broadcast, reminder): free-form inside the 24-hour window,
        otherwise the purpose's approved template. Never fails silently: the result (and the
        outbound row) says `needs_template` when no template could be used."""
        async with self.db.session() as session:
            contact = await repo.get_contact(session, CHANNEL, user_id)
        if can_send_free_form(contact, self.clock()):
            results = await self.send_replies(user_id, [Reply(text)], purpose=purpose)
            last = results[-1]
            if last.status != outbound.NEEDS_TEMPLATE:
                return last
        return await self.send_template(user_id, purpose, variables)

    async def send_template(self, to: str, purpose: str, variables: Sequence[str] = ()) -> SendResult:
        """Send the approved template configured for `purpose` (WHATSAPP_TEMPLATE_<PURPOSE>)."""
        template = self.templates.get(purpose)
        if template is None:
            result = SendResult(
                outbound.NEEDS_TEMPLATE, error_title=f"no template configured: WHATSAPP_TEMPLATE_{purpose.upper()}"
            )
        else:
            result = await self.graph.send(to, template.message(variables))
        await self._record(to, [result], purpose)
        return result

    async def _record(
        self, user_id: str, results: Sequence[SendResult], purpose: str, menu: tuple[Button, ...] | None = None
    ) -> None:
        if not results:
            return
        try:
            async with self.db.session() as session:
                await self._record_in(session, user_id, results, purpose, self.clock(), menu=menu)
        except Exception:
            log.exception("whatsapp: could not record %d sent messages", len(results))

    async def _record_in(
        self,
        session: AsyncSession,
        user_id: str,
        results: Sequence[SendResult],
        purpose: str,
        now: datetime,
        *,
        menu: tuple[Button, ...] | None = None,
    ) -> None:
        contact = await repo.get_contact(session, CHANNEL, user_id)
        if menu and contact is not None and contact.state is not None:
            # A typed "7" answers it, in whichever process the next message lands; the engine
            # forgets it at the next message (a numbered menu answers only the message after it).
            contact.state.data = {**(contact.state.data or {}), NUMBERED_MENU: [[b.label, b.payload] for b in menu]}
        for result in results:
            await outbound.record_sent(
                session,
                channel=CHANNEL,
                contact_id=contact.id if contact else None,
                platform_message_id=result.wamid,
                purpose=purpose,
                status=result.status,
                error_code=result.error_code,
                error_title=result.error_title,
                now=now,
            )
            if result.status == outbound.UNDELIVERABLE and contact and contact.unreachable_at is None:
                contact.unreachable_at = now
            if not result.ok:
                log.warning(
                    "whatsapp: %s to contact %s: %s %s", result.status,
                    contact.id if contact else "?", result.error_code, result.error_title,
                )  # fmt: skip

    # -- statuses -------------------------------------------------------------------------

    async def _apply_statuses(self, session: AsyncSession, statuses: Sequence[Status], now: datetime) -> None:
        for status in statuses:
            if status.status not in ("sent", "delivered", "read", "failed"):
                continue  # played, deleted...: nothing to record
            code = title = None
            new = status.status
            if new == "failed":
                error = status.errors[0] if status.errors else None
                code, title = (error.code, error.title) if error else (None, None)
                new = status_for_error(code)
            row = await outbound.apply_status(
                session,
                channel=CHANNEL,
                platform_message_id=status.wamid,
                status=new,
                error_code=code,
                error_title=title,
                now=now,
            )
            if row.status == outbound.UNDELIVERABLE and row.contact_id is not None:
                contact = await session.get(Contact, row.contact_id)
                if contact is not None and contact.unreachable_at is None:
                    contact.unreachable_at = now


def make_whatsapp_channel(deps: ChannelDeps, **graph_options: Any) -> WhatsAppChannel:
    """The channel from settings; `graph_options` go to `GraphClient` (retry_delays, pair_delay...)."""
    s = deps.settings
    assert s.whatsapp_access_token and s.whatsapp_phone_number_id and s.whatsapp_app_secret
    assert s.whatsapp_verify_token
    graph = GraphClient(s.whatsapp_api_base_url, s.whatsapp_phone_number_id, s.whatsapp_access_token, **graph_options)
    return WhatsAppChannel(
        engine=deps.engine,
        db=deps.db,
        cipher=deps.cipher,
        graph=graph,
        app_secret=s.whatsapp_app_secret,
        verify_token=s.whatsapp_verify_token,
        templates=s.whatsapp_templates,
    )
