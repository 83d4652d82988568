"""A Bot API server of our own for tests and the benchmark: aiohttp on 127.0.0.1, real HTTP.

It answers `{root}/bot{token}/{method}` the way Telegram does: parameters from the query
string, urlencoded, multipart or JSON bodies (structured fields JSON-decoded), real HTTP
status codes for errors (429 with parameters.retry_after, 403 for a blocked user, 400 for
a bad request, 409 for getUpdates while a webhook is set). It records every call, serves
getUpdates from a queue with long-poll and offset semantics, and in webhook mode posts
updates to the bot's webhook with the secret header. `slow()` makes chosen calls answer late
(after doing what they do, as a slow Telegram does: the message is delivered, its answer is not).
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

_STRUCTURED = {
    "reply_markup",
    "entities",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "commands",
    "scope",
}
_INTS = {"chat_id", "message_id", "offset", "limit", "timeout", "cache_time", "max_connections"}
_TAG = re.compile(r"</?(b|strong|i|em|u|ins|s|strike|del|code|pre|a|tg-spoiler|blockquote|span)(\s[^>]*)?>")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    content_type: str
    status: int = 200
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    method: str
    status: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None
    times: int = 1


@dataclass
class Slow:
    method: str
    seconds: float
    chat_id: int | None = None
    times: int = 1


@dataclass
class Sent:
    message_id: int
    chat_id: int
    text: str  # as sent (HTML)
    parse_mode: str | None
    markup: dict[str, Any] | None  # as sent
    current: dict[str, Any] | None  # the inline keyboard now shown (after edits)
    date: int


@dataclass
class _Pending:
    update: dict[str, Any]
    forced: bool = False  # delivered whatever the offset (a re-polled update)
    delivered: bool = False


class FakeTelegram:
    """The fake server. `await start()`, then point a bot at `root`."""

    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.slows: list[Slow] = []
        self.blocked: set[int] = set()
        self.sent: list[Sent] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.commands: dict[str | None, list[dict[str, str]]] = {}
        self.strict = True  # a bad request from the bot is a test failure unless expected
        self.bad_requests: list[Call] = []
        self._pending: list[_Pending] = []
        self._arrived = asyncio.Condition()
        self._message_ids = itertools.count(1000)
        self._update_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0
        self._closing = False
        self.on_send: Any = None  # called with each Sent (the benchmark timestamps replies)
        self.on_set_webhook: Any = None  # called with the URL once setWebhook has set it
        self.held_sends: dict[int, asyncio.Event] = {}  # chat id -> the next sendMessage to it waits for this

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> FakeTelegram:
        """Listen on `port` (0: any free one; a given one lets a test start the server late)."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        self._closing = True
        async with self._arrived:
            self._arrived.notify_all()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- test controls --------------------------------------------------------------------

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def fail(self, method: str, status: int, *, retry_after: int | None = None, chat_id: int | None = None,
             times: int = 1) -> None:  # fmt: skip
        """The next `times` calls of `method` (to `chat_id`, if given) fail with `status`."""
        description = {
            429: f"Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
        }.get(status, "Internal Server Error")
        self.faults.append(Fault(method.lower(), status, description, retry_after, chat_id, times))

    def slow(self, method: str, seconds: float, *, chat_id: int | None = None, times: int = 1) -> None:
        """The next `times` calls of `method` (to `chat_id`, if given) do what they do, then answer
        only after `seconds`: past a client's timeout, the message is delivered all the same."""
        self.slows.append(Slow(method.lower(), seconds, chat_id, times))

    async def inject(self, update: dict[str, Any], *, forced: bool = False) -> int | None:
        """Hand an update to the bot: by webhook when one is set (returns the HTTP status), else
        queued for getUpdates (`forced`: delivered again even below the confirmed offset)."""
        if self.webhook_url:
            return await self.post_webhook(update)
        async with self._arrived:
            self._pending.append(_Pending(update, forced=forced))
            self._arrived.notify_all()
        return None

    async def post_webhook(self, update: dict[str, Any], secret: str | None = None) -> int:
        assert self.webhook_url, "no webhook set"
        if self._client is None:
            self._client = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        token = self.webhook_secret if secret is None else secret
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        async with self._client.post(self.webhook_url, data=json.dumps(update), headers=headers) as response:
            await response.read()
            return response.status

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method.lower()]

    def messages_to(self, chat_id: int) -> list[Sent]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def message(self, message_id: int) -> Sent:
        return next(m for m in self.sent if m.message_id == message_id)

    # -- the Bot API ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"].lower()
        params, content_type = await _params(request)
        call = Call(method, params, content_type)
        self.calls.append(call)
        fault = self._fault(method, params)
        if fault is not None:
            call.status = fault.status
            extra = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
            return _error(fault.status, fault.description, extra)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            call.status = 404
            return _error(404, "Not Found: method not found")
        delay = self._delay(method, params)
        try:
            result = await handler(params)
        except _ApiError as exc:
            call.status = exc.status
            if exc.status == 400 and not exc.expected:
                self.bad_requests.append(call)
            return _error(exc.status, exc.description)
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({"ok": True, "result": result})

    def _delay(self, method: str, params: dict[str, Any]) -> float:
        chat = params.get("chat_id")
        for slow in self.slows:
            if slow.method == method and slow.times > 0 and slow.chat_id in (None, chat):
                slow.times -= 1
                return slow.seconds
        return 0.0

    def _fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        chat = params.get("chat_id")
        if method in ("sendmessage", "editmessagereplymarkup", "editmessagetext") and chat in self.blocked:
            return Fault(method, 403, "Forbidden: bot was blocked by the user")
        for fault in self.faults:
            if fault.method == method and fault.times > 0 and fault.chat_id in (None, chat):
                fault.times -= 1
                return fault
        return None

    async def _m_getme(self, _: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user() | {"can_join_groups": True, "can_read_all_group_messages": False,
                                    "supports_inline_queries": False}  # fmt: skip

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "BPU", "username": "bpu_test_bot"}

    async def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                 "use deleteWebhook to delete the webhook first", expected=True)  # fmt: skip
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        async with self._arrived:
            while True:
                # Confirmed updates (below the offset) are gone; a forced one goes out once.
                self._pending = [
                    p for p in self._pending
                    if (p.forced and not p.delivered) or (not p.forced and p.update["update_id"] >= offset)
                ]  # fmt: skip
                ready = self._pending[:limit]
                if ready:
                    for p in ready:
                        p.delivered = True
                    return [p.update for p in ready]
                left = deadline - time.monotonic()
                if left <= 0 or self._closing:
                    return []
                try:
                    await asyncio.wait_for(self._arrived.wait(), left)
                except TimeoutError:
                    return []

    async def _m_setwebhook(self, params: dict[str, Any]) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook_url = params.get("url") or None
        self.webhook_secret = secret
        if self.on_set_webhook is not None and self.webhook_url:
            self.on_set_webhook(self.webhook_url)
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = None
        self.webhook_secret = None
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._pending.clear()
        return True

    async def _m_getwebhookinfo(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook_url or "", "has_custom_certificate": False,
                "pending_update_count": len(self._pending)}  # fmt: skip

    async def _m_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not commands:
            raise _ApiError(400, "Bad Request: commands must be a non-empty list")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")) or not command.get("description"):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands[params.get("language_code") or None] = commands
        return True

    async def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        text = params.get("text")
        if not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if chat_id in self.held_sends:
            await self.held_sends.pop(chat_id).wait()
        parse_mode = params.get("parse_mode")
        visible = _visible(text, parse_mode)
        if len(visible.encode("utf-16-le")) // 2 > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        _check_markup(markup)
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        sent = Sent(next(self._message_ids), chat_id, text, parse_mode, markup, inline, int(time.time()))
        self.sent.append(sent)
        if self.on_send is not None:
            self.on_send(sent)
        return self._message_json(sent)

    def _message_json(self, sent: Sent) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": sent.date,
            "chat": {"id": sent.chat_id, "type": "private", "first_name": "User"},
            "from": self._bot_user(),
            "text": _visible(sent.text, sent.parse_mode),
        }
        if sent.current:
            message["reply_markup"] = sent.current
        return message

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._editable(params)
        markup = params.get("reply_markup")
        if markup is not None and "inline_keyboard" not in markup:
            raise _ApiError(400, "Bad Request: inline keyboard expected")
        _check_markup(markup)
        new = markup if markup and markup.get("inline_keyboard") else None
        if new == sent.current:
            raise _ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                 "reply markup are exactly the same", expected=True)  # fmt: skip
        sent.current = new
        return self._message_json(sent)

    async def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._editable(params)
        sent.text = str(params.get("text") or "")
        sent.parse_mode = params.get("parse_mode")
        markup = params.get("reply_markup")
        sent.current = markup if markup and markup.get("inline_keyboard") else None
        return self._message_json(sent)

    def _editable(self, params: dict[str, Any]) -> Sent:
        for sent in self.sent:
            if sent.message_id == params.get("message_id") and sent.chat_id == params.get("chat_id"):
                return sent
        raise _ApiError(400, "Bad Request: message to edit not found")

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        return True


class _ApiError(Exception):
    def __init__(self, status: int, description: str, *, expected: bool = False) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.expected = expected


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


async def _params(request: web.Request) -> tuple[dict[str, Any], str]:
    params: dict[str, Any] = dict(request.query)
    content_type = request.content_type
    if request.method == "POST" and request.can_read_body:
        if content_type == "application/json":
            params.update(await request.json())
        else:  # application/x-www-form-urlencoded or multipart/form-data
            form = await request.post()
            params.update({k: v if isinstance(v, str) else v.file.read().decode() for k, v in form.items()})
    for key in list(params):
        value = params[key]
        if key in _STRUCTURED and isinstance(value, str):
            params[key] = json.loads(value)
        elif key in _INTS and isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
            params[key] = int(float(value)) if key != "timeout" else float(value)
    return params, content_type


def _visible(text: str, parse_mode: str | None) -> str:
    if parse_mode != "HTML":
        return text
    stripped = _TAG.sub("", text)
    if "<" in stripped:
        raise _ApiError(400, "Bad Request: can't parse entities: unsupported start tag")
    return html.unescape(stripped)


def _check_markup(markup: Any) -> None:
    if not markup:
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise _ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
    for row in markup.get("keyboard", []):
        for button in row:
            if not (button if isinstance(button, str) else button.get("text")):
                raise _ApiError(400, "Bad Request: keyboard button text is empty")
