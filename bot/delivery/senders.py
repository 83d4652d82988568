"""One sender per channel, wrapping the channel code as it is (nothing in bot/channels is changed).

A sender sends one outbox row (one platform message, normally) and says what happened in the
outbox's words. It never retries by itself: the worker decides, with back-off, from the answer.

Telegram: a `TelegramBackend` of its own (its own connection pool), so bulk sends never wait
for a connection that a live reply needs; replies go straight out through the channel.
WhatsApp: a `WhatsAppChannel` of its own (own GraphClient); free-form inside the 24-hour window,
the purpose's approved template outside it (WHATSAPP_TEMPLATE_BROADCAST / _REMINDER).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.channels import telegram_common as tg
from handlers.messages import Button, Reply
from storage import outbound

# Outcomes a sender reports.
OK = "ok"
RETRY = "retry"  # the platform did not take it (429, 5xx, timeout): may go again
FAILED = "failed"  # will not work by trying again
UNREACHABLE = "unreachable"  # blocked the bot / not on WhatsApp
NO_TEMPLATE = "no_template"


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


class TelegramSender:
    channel = "telegram"

    def __init__(self, backend: tg.TelegramBackend, *, own_backend: bool = True) -> None:
        self.backend = backend
        self._own = own_backend

    async def start(self) -> None:
        await self.backend.initialize()

    async def close(self) -> None:
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
            for message in messages:
                ids.append(str(await self.backend.send_message(chat_id, message.text, message.markup)))
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

    def __init__(self, channel: object, *, own_channel: bool = True) -> None:
        from bot.channels.whatsapp import WhatsAppChannel

        assert isinstance(channel, WhatsAppChannel)
        self.wa = channel
        self._own = own_channel

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
                return _whatsapp_failure(last)
        if not self.has_template(job.purpose):
            return Result(NO_TEMPLATE, error=f"no template configured: WHATSAPP_TEMPLATE_{job.purpose.upper()}")
        result = await self.wa.send_template(job.external_id, job.purpose, job.variables)
        if result.ok:
            return Result(OK, platform_message_id=result.wamid)
        return _whatsapp_failure(result)


def _whatsapp_failure(result: object) -> Result:
    from bot.channels.whatsapp_graph import PAIR_RATE, THROUGHPUT, TRANSIENT

    status = getattr(result, "status", None)
    code = getattr(result, "error_code", None)
    error = f"{code} {getattr(result, 'error_title', '') or ''}".strip()
    if status == outbound.UNDELIVERABLE:
        return Result(UNREACHABLE, error=error)
    if status == outbound.NEEDS_TEMPLATE:
        return Result(NO_TEMPLATE, error=error)
    if code in THROUGHPUT:
        return Result(RETRY, error=error, retry_after=10.0, rate_limited=True)
    if code is None or code in TRANSIENT or code == PAIR_RATE:
        return Result(RETRY, error=error or "connection")
    return Result(FAILED, error=error)
