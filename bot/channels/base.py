"""The interface every channel implements, so the runtime treats them all alike.

A channel translates: platform updates in -> `IncomingMessage` -> `Engine.handle`
-> `Reply` list -> platform calls out. No business rule lives in a channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starlette.routing import BaseRoute


class Channel(Protocol):
    name: str

    def routes(self) -> Sequence[BaseRoute]:
        """HTTP routes this channel serves on the shared server (webhooks); may be empty."""
        ...

    async def start(self) -> None:
        """Begin receiving (start polling, or register the webhook)."""
        ...

    async def stop(self) -> None:
        """Stop receiving and release connections; must be safe to call twice."""
        ...

    def describe(self) -> str:
        """One line for the start-up banner: what is on and how it receives."""
        ...
