"""The terminal: `bpu-bot chat` talks to the bot as one worker (chat.py), through stdin and stdout.

Not served by `bpu-bot run`: the banner only says how to start it.
"""

from __future__ import annotations

from bot.channels.base import ChannelSpec
from bot.settings import Settings

NAME = "console"


def enabled(_: Settings) -> bool:
    return False  # a process of its own: `bpu-bot chat`


SPEC = ChannelSpec(
    name=NAME,
    label="Terminal",
    banner="terminal",
    enabled=enabled,
    off_hint="bpu-bot chat   (another way to talk to the bot)",
)
