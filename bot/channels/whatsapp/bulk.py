"""Bulk sends on WhatsApp (broadcasts, reminders): one outbox row through a `WhatsAppChannel` of
its own (its own GraphClient).

Free-form inside the 24-hour window, the purpose's approved template outside it
(WHATSAPP_TEMPLATE_BROADCAST / _REMINDER), and the template too when a free-form send meets
131047 (the window closed meanwhile). Its GraphClient should be made with `retry_delays=()`: a
retry inside the client would go out past the lane's pacer; the worker retries instead (a
130429 pauses the whole lane, see bot/delivery/worker.py). What "may have arrived" means on the
Cloud API is decided in graph.py (`may_have_arrived`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.channels.outcomes import FAILED, NO_TEMPLATE, OK, RETRY, UNCERTAIN, UNREACHABLE, Job, Result
from bot.channels.whatsapp.channel import WhatsAppChannel
from bot.channels.whatsapp.graph import PAIR_RATE, THROUGHPUT, TRANSIENT
from bot.channels.whatsapp.window import can_send_free_form
from handlers.messages import Reply
from storage import outbound

# The Cloud API's 130429 says no wait: the lane pauses this long (seconds), then the row goes again.
THROUGHPUT_PAUSE = 10.0


class WhatsAppSender:
    channel = "whatsapp"

    def __init__(
        self, channel: WhatsAppChannel, *, own_channel: bool = True, throughput_pause: float = THROUGHPUT_PAUSE
    ) -> None:
        self.wa = channel
        self._own = own_channel
        self.throughput_pause = throughput_pause

    async def start(self) -> None:
        pass

    def in_window(self, contact: Any, now: datetime) -> bool:
        return can_send_free_form(contact, now)

    def has_template(self, purpose: str) -> bool:
        return purpose in self.wa.templates

    def set_send_timeout(self, seconds: float) -> None:
        self.wa.graph.send_timeout = seconds

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
    status = getattr(result, "status", None)
    code = getattr(result, "error_code", None)
    error = " ".join(str(part) for part in (code, getattr(result, "error_title", None)) if part)
    if status == outbound.UNDELIVERABLE:
        return Result(UNREACHABLE, error=error)
    if status == outbound.NEEDS_TEMPLATE:
        return Result(NO_TEMPLATE, error=error)
    if status == outbound.UNCERTAIN:  # graph.may_have_arrived decided it
        return Result(UNCERTAIN, error=error)
    if code in THROUGHPUT:
        return Result(RETRY, error=error, retry_after=pause, rate_limited=True)
    if code is None or code in TRANSIENT or code == PAIR_RATE:
        return Result(RETRY, error=error or "connection")
    return Result(FAILED, error=error)
