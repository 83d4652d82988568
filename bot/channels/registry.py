"""The one list of channels. Health, the banner, broadcasts, the dashboard and staff identities
read it; adding a channel is one package under bot/channels/ and one line here."""

from __future__ import annotations

from collections.abc import Callable

from bot.channels import console, telegram, web, whatsapp
from bot.channels.base import BulkSender, Channel, ChannelDeps, ChannelSpec, Pacing, StaffIdentity
from bot.settings import Settings

SPECS: tuple[ChannelSpec, ...] = (
    telegram.SPEC,
    whatsapp.SPEC,
    web.SPEC,
    console.SPEC,
)


def spec(name: str) -> ChannelSpec:
    for candidate in SPECS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def bulk_names() -> tuple[str, ...]:
    """The channels broadcasts and reminders can go out on, in the registry's order."""
    return tuple(s.name for s in SPECS if s.bulk)


def labels() -> dict[str, str]:
    """Channel name -> how staff read it (Telegram, WhatsApp...)."""
    return {s.name: s.label for s in SPECS}


def enabled(deps: ChannelDeps) -> list[Channel]:
    """The live channels the settings turn on, built."""
    return [s.make(deps) for s in SPECS if s.make is not None and s.enabled(deps.settings)]


def senders(deps: ChannelDeps) -> dict[str, BulkSender]:
    """A bulk sender for every channel the settings turn on that has one (connections of its own)."""
    return {s.name: s.make_sender(deps) for s in SPECS if s.make_sender is not None and s.enabled(deps.settings)}


def pacing(settings: Settings, channel: str) -> Pacing:
    """A channel's bulk pace: its rate with the headroom for live replies taken off (None: no
    limit) and the seconds between two messages to one chat. A channel not listed is unpaced."""
    found = next((s for s in SPECS if s.name == channel), None)
    if found is None or found.pacing is None:
        return Pacing(None, 0.0)
    own = found.pacing(settings)
    return Pacing(settings.bulk_rate(own.per_second), own.per_chat_seconds)


def user_phones() -> dict[str, Callable[[str], str | None]]:
    """Channel name -> how a worker's phone number is read from their user id there (WhatsApp)."""
    return {s.name: s.phone_of_user for s in SPECS if s.phone_of_user is not None}


def staff_identities() -> dict[str, StaffIdentity]:
    """Channel name -> how a staff member is named on it, in the registry's order: the one a
    staff member is reached on first (Telegram, then WhatsApp), the staff form's fields."""
    return {s.name: s.staff_identity for s in SPECS if s.staff_identity is not None}
