"""The explicit registry of channels: which are on is decided by settings alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.channels.base import Channel

if TYPE_CHECKING:
    from bot.runtime import Runtime


def enabled(runtime: Runtime) -> list[Channel]:
    channels: list[Channel] = []
    settings = runtime.settings
    if settings.telegram_enabled:
        from bot.channels.telegram import make_telegram_channel

        channels.append(make_telegram_channel(runtime))
    if settings.whatsapp_enabled:
        from bot.channels.whatsapp import make_whatsapp_channel

        channels.append(make_whatsapp_channel(runtime))
    return channels
