"""One sender per channel, wrapping the channel code as it is (nothing in bot/channels is changed).

A sender sends one outbox row (one platform message, normally) and says what happened in the
outbox's words. It never retries by itself: the worker decides, with back-off, from the answer.

Telegram: a `TelegramBackend` of its own (its own connection pool), so bulk sends never wait
for a connection that a live reply needs; replies go straight out through the channel. With a
`BotApi` the messages themselves go out as plain JSON posts (see BotApi: the libraries' per-call
cost is what limited a broadcast's throughput).
WhatsApp: a `WhatsAppChannel` of its own (own GraphClient); free-form inside the 24-hour window,
the purpose's approved template outside it (WHATSAPP_TEMPLATE_BROADCAST / _REMINDER), and the
template too when a free-form send meets 131047 (the window closed meanwhile). Its GraphClient
should be made with `retry_delays=()`: a retry inside the client would go out past the lane's
pacer; the worker retries instead (a 130429 pauses the whole lane, see worker.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.channels import telegram_common as tg
from handlers.messages import Button, Reply
from storage import outbound

# Outcomes a sender reports.
OK = "ok"
RETRY = "retry"  # the platform did not take it (429, 5xx, timeout): may go again
FAILED = "failed"  # will not work by trying again
UNREACHABLE = "unreachable"  # blocked the bot / not on WhatsApp
NO_TEMPLATE = "no_template"

# The Cloud API's 130429 says no wait: the lane pauses this long (seconds), then the row goes again.
THROUGHPUT_PAUSE = 10.0


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed outbox row, ready to send."""

    row_id: int
    contact_id: int
    channel: str
    external_id: str
    purpose: str  # broadcast, reminder (the WhatsApp template purpose)
    text: str
    buttons: tuple[Button, ...] = ()
    variables: tuple[str, ...] = ()  # WhatsApp template body variables
    in_window: bool = True  # WhatsApp: inside the 24-hour window
    attempts: int = 0  # attempts before this one


@dataclass(frozen=True, slots=True)
class Result:
    outcome: str
    platform_message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None  # the platform's own wait (429)
    rate_limited: bool = False  # a 429: does not count as an attempt
    extra: dict[str, str] = field(default_factory=dict)


class Sender(Protocol):
    channel: str

    async def send(self, job: Job) -> Result: ...

    async def close(self) -> None: ...


class BotApi:
    """sendMessage straight to the Bot API, JSON over one pooled aiohttp session: the bulk path.

    The library backends build a pydantic request, a multipart form and a validated `Message`
    for every call: about 1 ms of CPU each, which caps one process below 1,000 sends/s. Bulk
    sends need only the message id back, so this posts the JSON and reads `result.message_id`.
    Errors are the channel's (telegram_common): 403 Blocked, 429 RetryAfter, 400 BadRequest,
    anything else (5xx, timeout, connection) TelegramError.
    """

    def __init__(self, root: str, token: str, *, connections: int = 100, timeout: float = 15.0) -> None:
        self.url = f"{root.rstrip('/')}/bot{token}/sendMessage"
        self._connections = connections
        self._timeout = timeout
        self._session: Any = None

    def _client(self) -> Any:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                timeout=aiohttp.ClientTimeout(total=self._timeout, connect=5.0),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send_message(self, chat_id: int, text: str, markup: tg.Markup) -> int:
        import aiohttp

        body: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
        if isinstance(markup, tg.InlineKeyboard):
            rows = [[{"text": label, "callback_data": data} for label, data in row] for row in markup.rows]
            body["reply_markup"] = {"inline_keyboard": rows}
        elif markup is not None:  # reply keyboards are for conversations, never in bulk sends
            raise tg.BadRequest(f"{type(markup).__name__} is not sent in bulk")
        try:
            async with self._client().post(self.url, json=body) as response:
                status = response.status
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = {}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise tg.TelegramError(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, dict):
            data = {}
        if status == 200 and data.get("ok"):
            return int(data["result"]["message_id"])
        code = int(data.get("error_code") or status)
        description = str(data.get("description") or f"HTTP {status}")
        if code == 429:
            retry_after = (data.get("parameters") or {}).get("retry_after", 1)
            raise tg.RetryAfter(float(retry_after))
        if code == 403:
            raise tg.Blocked(description)
        if code == 400:
            raise tg.BadRequest(description)
        raise tg.TelegramError(description)


class TelegramSender:
    channel = "telegram"

    def __init__(
        self, backend: tg.TelegramBackend, *, own_backend: bool = True, api: BotApi | None = None
    ) -> None:
        """`api`: send through a lean `BotApi` (the backend is then only started and stopped)."""
        self.backend = backend
        self.api = api
        self._own = own_backend

    async def start(self) -> None:
        await self.backend.initialize()

    async def close(self) -> None:
        if self.api is not None:
            await self.api.close()
        if self._own:
            await self.backend.shutdown()

    async def send(self, job: Job) -> Result:
        try:
            messages = tg.plan([Reply(job.text, job.buttons)], share_label="", reply_keyboard_open=False)
            chat_id = int(job.external_id)
        except ValueError as exc:
            return Result(FAILED, error=f"cannot be laid out: {exc}")
        ids: list[str] = []
        try:
            client = self.api or self.backend
            for message in messages:
                ids.append(str(await client.send_message(chat_id, message.text, message.markup)))
        except tg.Blocked as exc:
            return Result(UNREACHABLE, error=str(exc)) if not ids else _partial(chat_id, ids, exc)
        except tg.RetryAfter as exc:
            if ids:
                return _partial(chat_id, ids, exc)
            return Result(RETRY, error=str(exc), retry_after=exc.seconds, rate_limited=True)
        except tg.BadRequest as exc:
            return Result(FAILED, error=str(exc)) if not ids else _partial(chat_id, ids, exc)
        except tg.TelegramError as exc:  # 5xx, timeouts, connection errors
            return Result(RETRY, error=str(exc) or type(exc).__name__) if not ids else _partial(chat_id, ids, exc)
        return Result(OK, platform_message_id=f"{chat_id}:{','.join(ids)}")


def _partial(chat_id: int, ids: Sequence[str], exc: Exception) -> Result:
    """A long text split in several messages, some sent: sending again would repeat those."""
    return Result(OK, platform_message_id=f"{chat_id}:{','.join(ids)}", error=f"partly sent: {exc}")


class WhatsAppSender:
    channel = "whatsapp"

    def __init__(
        self, channel: object, *, own_channel: bool = True, throughput_pause: float = THROUGHPUT_PAUSE
    ) -> None:
        from bot.channels.whatsapp import WhatsAppChannel

        assert isinstance(channel, WhatsAppChannel)
        self.wa = channel
        self._own = own_channel
        self.throughput_pause = throughput_pause

    def has_template(self, purpose: str) -> bool:
        return purpose in self.wa.templates

    async def close(self) -> None:
        if self._own:
            await self.wa.graph.aclose()

    async def send(self, job: Job) -> Result:
        if job.in_window:
            results = await self.wa.send_replies(job.external_id, [Reply(job.text, job.buttons)], purpose=job.purpose)
            sent = [r.wamid for r in results if r.ok and r.wamid]
            last = results[-1] if results else None
            if last is not None and last.status == outbound.NEEDS_TEMPLATE and not sent:
                if not self.has_template(job.purpose):
                    return Result(NO_TEMPLATE, error="outside the 24-hour window, no template")
            elif last is not None and (last.ok or sent):
                return Result(OK, platform_message_id=",".join(w for w in sent if w))
            elif last is not None:
                return _whatsapp_failure(last, self.throughput_pause)
        if not self.has_template(job.purpose):
            return Result(NO_TEMPLATE, error=f"no template configured: WHATSAPP_TEMPLATE_{job.purpose.upper()}")
        result = await self.wa.send_template(job.external_id, job.purpose, job.variables)
        if result.ok:
            return Result(OK, platform_message_id=result.wamid)
        return _whatsapp_failure(result, self.throughput_pause)


def _whatsapp_failure(result: object, pause: float = THROUGHPUT_PAUSE) -> Result:
    from bot.channels.whatsapp_graph import PAIR_RATE, THROUGHPUT, TRANSIENT

    status = getattr(result, "status", None)
    code = getattr(result, "error_code", None)
    error = f"{code} {getattr(result, 'error_title', '') or ''}".strip()
    if status == outbound.UNDELIVERABLE:
        return Result(UNREACHABLE, error=error)
    if status == outbound.NEEDS_TEMPLATE:
        return Result(NO_TEMPLATE, error=error)
    if code in THROUGHPUT:
        return Result(RETRY, error=error, retry_after=pause, rate_limited=True)
    if code is None or code in TRANSIENT or code == PAIR_RATE:
        return Result(RETRY, error=error or "connection")
    return Result(FAILED, error=error)
