"""The contract's driver for the web simulator: the page's own JSON requests to the ASGI app."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from tests.channels.contract import Bubble, Env

VARIANTS = ["page"]


class WebDriver:
    sends_media = False  # the page sends text and button presses only

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.history: dict[str, list[list[dict[str, Any]]]] = {}
        self.last: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    async def _post(self, user: str, body: dict[str, Any]) -> list[Bubble]:
        response = await self.client.post("/simulator/api/message", json=body)
        assert response.status_code == 200, response.text
        replies = response.json()["replies"]
        self.last[user] = body
        self.history.setdefault(user, []).append(replies)
        return [Bubble(r["text"], [b["label"] for b in r["buttons"]]) for r in replies]

    async def send_text(self, user: str, text: str) -> list[Bubble]:
        return await self._post(user, {"user": user, "text": text, "id": f"{user}-{next(self._ids)}"})

    def _find(self, replies_list: list[list[dict[str, Any]]], label: str) -> dict[str, Any]:
        for replies in reversed(replies_list):
            for reply in replies:
                for button in reply["buttons"]:
                    if button["label"] == label or button["label"].lower().startswith(label.lower()):
                        return dict(button)
        raise AssertionError(f"no button {label!r}")

    async def press(self, user: str, label: str) -> list[Bubble]:
        button = self._find(self.history[user][-1:], label)
        body = {"user": user, "text": button["label"], "payload": button["payload"], "id": f"{user}-{next(self._ids)}"}
        return await self._post(user, body)

    async def press_stale(self, user: str, label: str) -> list[Bubble]:
        button = self._find(self.history[user][:-1], label)
        body = {"user": user, "text": button["label"], "payload": button["payload"], "id": f"{user}-{next(self._ids)}"}
        return await self._post(user, body)

    async def share_contact(self, user: str, phone: str) -> list[Bubble]:
        return await self.send_text(user, phone)  # the page asks for the number as text

    async def send_media(self, user: str, kind: str) -> list[Bubble]:
        raise NotImplementedError

    async def replay_last(self, user: str) -> list[Bubble]:
        response = await self.client.post("/simulator/api/message", json=self.last[user])
        assert response.status_code == 200, response.text
        return [Bubble(r["text"], [b["label"] for b in r["buttons"]]) for r in response.json()["replies"]]


@contextlib.asynccontextmanager
async def open_driver(env: Env, variant: str = "page") -> AsyncIterator[WebDriver]:
    settings = Settings(_env_file=None, BPU_DATABASE_URL=env.db_url)  # type: ignore[call-arg]
    app = create_app(Runtime(settings, env.db, env.cipher, env.engine))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield WebDriver(client)
