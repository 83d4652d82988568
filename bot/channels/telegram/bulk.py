"""Bulk sends on Telegram (broadcasts, reminders): one outbox row, one `sendMessage` per part.

The messages go out as plain JSON posts through `BotApi` (the libraries' per-call cost is what
limited a broadcast's throughput), on connections of their own: a broadcast never holds a
connection a live reply waits for. A library backend may be given instead (tests, benchmarks).
What "may have arrived" means on the Bot API is decided here: `_aiohttp_not_written` and
`_bot_api_refused`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.channels.outcomes import FAILED, OK, RETRY, UNCERTAIN, UNREACHABLE, Job, Result
from bot.channels.telegram import common as tg
from handlers.messages import Reply


class NotSent(tg.TelegramError):
    """The Bot API surely did not take the message (no connection carried it, or it said so): retry."""


class MayHaveArrived(tg.TelegramError):
    """The request may have reached the Bot API and no answer says what became of it."""


class BotApi:
    """sendMessage straight to the Bot API, JSON over one pooled aiohttp session: the bulk path.

    The library backends build a pydantic request, a multipart form and a validated `Message`
    for every call: about 1 ms of CPU each, which caps one process below 1,000 sends/s. Bulk
    sends need only the message id back, so this posts the JSON and reads `result.message_id`.
    Errors are the channel's (common.py): 403 Blocked, 429 RetryAfter, 400 BadRequest;
    then NotSent (surely not taken: retry) or MayHaveArrived (see `_aiohttp_not_written` and
    `_bot_api_refused`).
    """

    def __init__(self, root: str, token: str, *, connections: int = 100, timeout: float = 60.0) -> None:
        self.url = f"{root.rstrip('/')}/bot{token}/sendMessage"
        self._connections = connections
        self.timeout = timeout
        self._session: Any = None

    def _client(self) -> Any:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._connections))
        return self._session

    def _timeouts(self) -> Any:
        import aiohttp

        # No `total`: its expiry cannot tell a request never written from an answer late. `connect`
        # (a connection from the pool, or a new one) fails before the request is written;
        # `sock_read` after it.
        return aiohttp.ClientTimeout(
            total=None, connect=self.timeout, sock_connect=min(5.0, self.timeout), sock_read=self.timeout
        )

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
            async with self._client().post(self.url, json=body, timeout=self._timeouts()) as response:
                status = response.status
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = NotSent if _aiohttp_not_written(exc) else MayHaveArrived
            raise kind(f"{type(exc).__name__}: {exc}") from exc
        if status == 200 and isinstance(data, dict) and data.get("ok"):
            try:
                return int(data["result"]["message_id"])
            except (KeyError, TypeError, ValueError):
                raise MayHaveArrived("HTTP 200 without a message id") from None
        envelope = data if isinstance(data, dict) and data.get("ok") is False else None
        code = int((envelope or {}).get("error_code") or status)
        description = str((envelope or {}).get("description") or f"HTTP {status}")
        if code == 429:
            retry_after = ((envelope or {}).get("parameters") or {}).get("retry_after", 1)
            raise tg.RetryAfter(float(retry_after))
        if code == 403:
            raise tg.Blocked(description)
        if code == 400:
            raise tg.BadRequest(description)
        if _bot_api_refused(status, envelope):
            raise NotSent(description)
        raise MayHaveArrived(description)


def _aiohttp_not_written(exc: BaseException) -> bool:
    """aiohttp raised before the request was written (no connection: refused, DNS, connect or pool
    timeout), so Telegram cannot have it. Anything later (a read timeout, the connection closed,
    a broken answer) may have followed a message Telegram took."""
    import aiohttp

    return isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))


# A gateway in front of the Bot API gave up waiting for it: the Bot API may have sent the message.
_GATEWAY = frozenset({502, 504})


def _bot_api_refused(status: int, envelope: dict[str, Any] | None) -> bool:
    """An error answer that proves the Bot API did not send the message: it answered in its own
    envelope ({"ok": false, "error_code", "description"}: the method failed), and not as a gateway
    that timed out. Any other answer (a proxy's page, 502/504) says nothing either way."""
    if envelope is None:
        return False
    return status not in _GATEWAY and int(envelope.get("error_code") or status) not in _GATEWAY


class TelegramSender:
    channel = "telegram"

    def __init__(
        self, backend: tg.TelegramBackend | None, *, own_backend: bool = True, api: BotApi | None = None
    ) -> None:
        """`api`: send through a lean `BotApi` (the backend, if any, is then only started and
        stopped; None spares a process that only sends the import of a Telegram library)."""
        assert backend is not None or api is not None, "a backend or a BotApi to send through"
        self.backend = backend
        self.api = api
        self._own = own_backend and backend is not None

    async def start(self) -> None:
        if self.backend is not None:
            await self.backend.initialize()

    def in_window(self, contact: Any, now: datetime) -> bool:
        return True  # a bot may write to whoever started it, at any time

    def has_template(self, purpose: str) -> bool:
        return False

    def set_send_timeout(self, seconds: float) -> None:
        if self.api is not None:  # the library backends keep their own timeouts
            self.api.timeout = seconds

    async def close(self) -> None:
        if self.api is not None:
            await self.api.close()
        if self._own and self.backend is not None:
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
            assert client is not None
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
        except NotSent as exc:
            return Result(RETRY, error=str(exc) or type(exc).__name__) if not ids else _partial(chat_id, ids, exc)
        except tg.TelegramError as exc:  # MayHaveArrived, or a library backend's error we cannot place
            if ids:
                return _partial(chat_id, ids, exc)
            return Result(UNCERTAIN, error=f"may have arrived: {exc or type(exc).__name__}")
        return Result(OK, platform_message_id=f"{chat_id}:{','.join(ids)}")


def _partial(chat_id: int, ids: Sequence[str], exc: Exception) -> Result:
    """A long text split in several messages, some sent: sending again would repeat those."""
    return Result(OK, platform_message_id=f"{chat_id}:{','.join(ids)}", error=f"partly sent: {exc}")
