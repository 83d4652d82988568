"""The web simulator: a chat page on our own HTTP server (channel.py, simulator.html).

Always on: `bpu-bot run` with no configuration at all still lets anyone try the bot in a browser.
"""

from __future__ import annotations

from bot.channels.base import Channel, ChannelDeps, ChannelSpec
from bot.settings import Settings

NAME = "web"


def enabled(_: Settings) -> bool:
    return True


def make(deps: ChannelDeps) -> Channel:
    from bot.channels.web.channel import WebChannel

    return WebChannel(deps)


SPEC = ChannelSpec(name=NAME, label="Simulator", banner="simulator", enabled=enabled, make=make, always_on=True)
