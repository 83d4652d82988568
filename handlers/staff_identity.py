"""How a staff member is named on each channel, as the conversation reads it.

Each channel's SPEC.staff_identity (bot/channels/<name>/__init__.py) says how a user id on it
becomes the stored form of storage.models.StaffIdentity, and which chat a stored identity is
reached on. Handlers import no bot/: the registry hands the rules in (Engine's
`staff_identities`, bot/channels/registry.staff_identities()), in its order, preferred first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from storage.models import Staff


class IdentityRule(Protocol):
    def stored(self, user_id: str) -> str | None:
        """A user id on the channel in stored form (None: no staff member can be it)."""
        ...

    def chat(self, stored: str) -> str | None:
        """The chat (a contact's external id) a stored identity is reached on (None: none)."""
        ...


IdentityRules = Mapping[str, IdentityRule]  # channel -> its rule, preferred channel first


def stored(rules: IdentityRules, channel: str, user_id: str) -> str | None:
    """A chat user as their staff identity would be stored (None: not a channel staff are on)."""
    rule = rules.get(channel)
    return rule.stored(user_id) if rule is not None else None


def staff_chat(staff: Staff, rules: IdentityRules) -> tuple[str, str] | None:
    """(channel, external id) a staff member is reached on: the first channel in the rules'
    order (Telegram before WhatsApp: no 24-hour window) where they have a usable identity."""
    mine = {i.channel: i.external_id for i in staff.identities}
    for channel, rule in rules.items():
        chat = rule.chat(mine[channel]) if channel in mine else None
        if chat:
            return channel, chat
    return None
