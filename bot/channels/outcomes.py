"""What a bulk send is and what became of it, in the outbox's words, the same for every channel.

A bulk sender sends one outbox row (one platform message, normally) and says what happened. It
never retries by itself: the worker decides, with back-off, from the answer. RETRY only when
the answer proves the platform did not take the message; when the request may have reached it
and no answer says what became of it, UNCERTAIN (never sent again automatically: see
bot/delivery/outbox.py). Each channel package tells the two apart for its own transport (its
bulk.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.messages import Button

# Outcomes a sender reports.
OK = "ok"
RETRY = "retry"  # the platform surely did not take it (429, its own 5xx, no connection): may go again
UNCERTAIN = "uncertain"  # the request may have reached the platform: never sent again automatically
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
