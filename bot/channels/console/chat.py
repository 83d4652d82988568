"""`bpu-bot chat`: the conversation in a terminal, or through pipes.

Each reply is printed and flushed as soon as it is ready; buttons are shown as
numbered options (numbered across one answer), and typing the number presses the button.
`/start CODE` carries a campaign or referral code, as a Telegram deep link does.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Sequence
from typing import TextIO

from starlette.routing import BaseRoute

from handlers import links
from handlers.engine import Engine
from handlers.messages import Button, IncomingMessage, Kind, Reply

CHANNEL = "console"  # IncomingMessage.channel, contacts.channel
_BOLD = re.compile(r"\*([^*\n]+)\*")


def format_replies(replies: Sequence[Reply], *, tty: bool) -> list[str]:
    def bold(match: re.Match[str]) -> str:
        return f"\033[1m{match.group(1)}\033[0m" if tty else match.group(1)

    out: list[str] = []
    number = 0
    for reply in replies:
        lines = [_BOLD.sub(bold, reply.text)]
        for button in reply.buttons:
            number += 1
            lines.append(f"  [{number}] {button.label}")
        if reply.request_phone:
            lines.append("  (ketik nomor HP / type your phone number)")
        out.append("\n".join(lines))
    return out


class ConsoleChat:
    """One worker's conversation in a terminal: a channel with one user, served by `bpu-bot chat`."""

    name = CHANNEL

    def __init__(self, engine: Engine, user: str, *, lang: str | None = None) -> None:
        self.engine = engine
        self.user = user
        self.lang = lang
        self.buttons: list[Button] = []  # the options of the latest answer, numbered from 1
        self.stdout: TextIO = sys.stdout
        self.tty = False

    def routes(self) -> Sequence[BaseRoute]:
        return []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def describe(self) -> str:
        return f"the terminal, as the worker {self.user}"

    async def send(self, user: str, replies: Sequence[Reply]) -> None:
        """Print each reply and flush it at once (another program may be reading through a pipe)."""
        for text in format_replies(replies, tty=self.tty):
            self.stdout.write(text + "\n\n")
            self.stdout.flush()

    def to_message(self, line: str) -> IncomingMessage:
        choice = line.strip()
        if choice.isdigit() and 1 <= int(choice) <= len(self.buttons):
            button = self.buttons[int(choice) - 1]
            return IncomingMessage(CHANNEL, self.user, text=button.label, payload=button.payload, kind=Kind.BUTTON)
        return IncomingMessage(
            CHANNEL, self.user, text=line, language_hint=self.lang, start_code=links.start_code(line)
        )

    async def say(self, line: str) -> list[Reply]:
        replies = await self.engine.handle(self.to_message(line))
        self.buttons = [b for r in replies for b in r.buttons]
        return replies

    async def run(self, stdin: TextIO, stdout: TextIO, *, opening: str | None = None) -> None:
        """`opening`: said first, without being typed (the greeting, or `/start CODE`)."""
        tty = stdin.isatty() and stdout.isatty()
        self.stdout, self.tty = stdout, tty
        loop = asyncio.get_running_loop()
        line = opening
        while True:
            if line is None:
                if tty:
                    stdout.write("> ")
                    stdout.flush()
                line = await loop.run_in_executor(None, stdin.readline)
                if not line:
                    break
            await self.send(self.user, await self.say(line.rstrip("\r\n")))
            line = None
