"""The contract's driver for the terminal: lines typed to `ConsoleChat`, replies as it prints them."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator

from bot.channels.console.chat import ConsoleChat, format_replies
from tests.channels.contract import Bubble, Env

VARIANTS = ["pipe"]
REPLAYS = False  # a typed line has no platform id


class ConsoleDriver:
    replays = False  # a typed line has no platform id
    stale_buttons = False  # only the latest answer's options are numbered
    sends_media = False

    def __init__(self, env: Env) -> None:
        self.env = env
        self.chats: dict[str, ConsoleChat] = {}

    def _chat(self, user: str) -> ConsoleChat:
        if user not in self.chats:
            chat = ConsoleChat(self.env.engine, user)
            chat.stdout = io.StringIO()
            self.chats[user] = chat
        return self.chats[user]

    async def _type(self, user: str, line: str) -> list[Bubble]:
        chat = self._chat(user)
        replies = await chat.say(line)
        await chat.send(user, replies)  # printed as `bpu-bot chat` prints them
        printed = format_replies(replies, tty=False)
        assert all(text in chat.stdout.getvalue() for text in printed)  # type: ignore[attr-defined]
        return [Bubble(r.text, [b.label for b in r.buttons]) for r in replies]

    async def send_text(self, user: str, text: str) -> list[Bubble]:
        return await self._type(user, text)

    async def press(self, user: str, label: str) -> list[Bubble]:
        for number, button in enumerate(self._chat(user).buttons, start=1):
            if button.label == label or button.label.lower().startswith(label.lower()):
                return await self._type(user, str(number))
        raise AssertionError(f"no option {label!r}")

    async def press_stale(self, user: str, label: str) -> list[Bubble]:
        raise NotImplementedError

    async def share_contact(self, user: str, phone: str) -> list[Bubble]:
        return await self._type(user, phone)

    async def send_media(self, user: str, kind: str) -> list[Bubble]:
        raise NotImplementedError

    async def replay_last(self, user: str) -> list[Bubble]:
        raise NotImplementedError


@contextlib.asynccontextmanager
async def open_driver(env: Env, variant: str = "pipe") -> AsyncIterator[ConsoleDriver]:
    yield ConsoleDriver(env)
