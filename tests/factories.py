"""Builders for tests: a worker talking to the engine, pressing buttons by label."""

from __future__ import annotations

import itertools

from handlers.engine import Engine
from handlers.messages import Button, IncomingMessage, Kind, Reply

_ids = itertools.count(1)


def make_inbound(
    text: str | None = "halo", *, channel: str = "console", user: str = "w1", **kw: object
) -> IncomingMessage:
    return IncomingMessage(channel=channel, user_id=user, text=text, **kw)  # type: ignore[arg-type]


class Chat:
    """One worker's conversation through the engine, as a channel would drive it."""

    def __init__(self, engine: Engine, user: str = "w1", channel: str = "console", **defaults: object) -> None:
        self.engine = engine
        self.user = user
        self.channel = channel
        self.defaults = defaults
        self.last: list[Reply] = []

    async def say(self, text: str, **kw: object) -> list[Reply]:
        return await self.send(text=text, **kw)

    async def send(self, **kw: object) -> list[Reply]:
        kw.setdefault("update_id", f"u{next(_ids)}")
        msg = IncomingMessage(channel=self.channel, user_id=self.user, **{**self.defaults, **kw})  # type: ignore[arg-type]
        self.last = await self.engine.handle(msg)
        return self.last

    def buttons(self) -> list[Button]:
        return [b for r in self.last for b in r.buttons]

    def labels(self) -> list[str]:
        return [b.label for b in self.buttons()]

    def find(self, label: str) -> Button:
        for button in self.buttons():
            if button.label == label or button.label.lower().startswith(label.lower()):
                return button
        raise AssertionError(f"no button {label!r} in {self.labels()}")

    async def press(self, label: str) -> list[Reply]:
        button = self.find(label)
        return await self.press_payload(button.payload, button.label)

    async def press_payload(self, payload: str, label: str = "") -> list[Reply]:
        return await self.send(text=label, payload=payload, kind=Kind.BUTTON)

    @property
    def text(self) -> str:
        return "\n\n".join(r.text for r in self.last)
