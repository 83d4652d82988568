"""The contract's driver for WhatsApp: Meta's webhook samples (this folder's *.json) signed with a
test app secret, posted to the real adapter; replies read from a Graph API server of our own.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels.whatsapp.channel import WhatsAppChannel, make_whatsapp_channel
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from tests.channels.contract import Bubble, Env
from tests.channels.fake_graph import FakeGraph
from tests.conftest import TEST_SECRET

DATA = Path(__file__).parent
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
PHONE_ID = "106540352242922"
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
MEDIA_SAMPLES = {
    "sticker": "sticker",
    "photo": "image",
    "voice": "audio",
    "video": "video",
    "document": "document",
    "location": "location",
    "contact": "contacts",
    "unsupported": "unsupported",
}
_MENU_LINE = re.compile(r"^\*(\d+)\.\* (.+)$")


def sample(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@dataclass
class Option:
    label: str
    id: str
    how: str  # "button", "list" or "number"
    wamid: str | None
    description: str = ""


@dataclass
class Shown:
    bubbles: list[Bubble] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)


class WhatsAppDriver:
    """Talks to the channel as WhatsApp does; a `contract.ChannelDriver`."""

    def __init__(self, client: httpx.AsyncClient, channel: WhatsAppChannel, graph: FakeGraph, clock: Any) -> None:
        self.client = client
        self.channel = channel
        self.graph = graph
        self.clock = clock
        self.history: dict[str, list[Shown]] = {}
        self.last_raw: dict[str, bytes] = {}
        self._wa_ids: dict[str, str] = {}
        self._numbers = itertools.count(1)
        self._wamids = itertools.count(1)

    def wa_id(self, user: str) -> str:
        if user not in self._wa_ids:
            self._wa_ids[user] = f"62812345{next(self._numbers):05d}"
        return self._wa_ids[user]

    def body(self, name: str, user: str, **fields: Any) -> dict[str, Any]:
        body = copy.deepcopy(sample(name))
        value = body["entry"][0]["changes"][0]["value"]
        wa_id = self.wa_id(user)
        for contact in value.get("contacts", []):
            contact["wa_id"] = wa_id
            contact["profile"]["name"] = f"Pekerja {user}"
        message = value["messages"][0]
        message["from"] = wa_id
        message["id"] = f"wamid.TEST{next(self._wamids):08d}"
        message["timestamp"] = str(int(self.clock().timestamp()))
        if message["type"] == "contacts":
            message["contacts"][0]["phones"][0]["wa_id"] = wa_id
        message.update(fields)
        return body

    async def post(self, raw: bytes, signature: str | None = "auto") -> httpx.Response:
        headers = {"content-type": "application/json"}
        if signature == "auto":
            headers["x-hub-signature-256"] = sign(raw)
        elif signature is not None:
            headers["x-hub-signature-256"] = signature
        return await self.client.post("/webhook/whatsapp", content=raw, headers=headers)

    async def deliver(self, user: str, body: dict[str, Any]) -> list[Bubble]:
        raw = json.dumps(body).encode()
        self.last_raw[user] = raw
        return await self._deliver_raw(user, raw)

    async def _deliver_raw(self, user: str, raw: bytes) -> list[Bubble]:
        start = len(self.graph.sent)
        response = await self.post(raw)
        assert response.status_code == 200, response.text
        await self.channel.drain()
        shown = self._shown([s for s in self.graph.sent[start:] if s.recipient == self.wa_id(user) and s.wamid])
        self.history.setdefault(user, []).append(shown)
        return shown.bubbles

    def _shown(self, sent: list[Any]) -> Shown:
        shown = Shown()
        for s in sent:
            body = s.body
            if body["type"] == "text":
                text = body["text"]["body"]
                labels = []
                for line in text.splitlines():
                    match = _MENU_LINE.match(line)
                    if match:
                        labels.append(match.group(2))
                        shown.options.append(Option(match.group(2), match.group(1), "number", s.wamid))
                shown.bubbles.append(Bubble(text, labels))
            elif body["type"] == "interactive":
                interactive = body["interactive"]
                text = interactive["body"]["text"]
                if interactive["type"] == "button":
                    options = [
                        Option(b["reply"]["title"], b["reply"]["id"], "button", s.wamid)
                        for b in interactive["action"]["buttons"]
                    ]
                else:
                    options = [
                        Option(r["title"], r["id"], "list", s.wamid, r.get("description", ""))
                        for section in interactive["action"]["sections"]
                        for r in section["rows"]
                    ]
                shown.options.extend(options)
                shown.bubbles.append(Bubble(text, [o.label for o in options]))
            else:
                shown.bubbles.append(Bubble(f"[{body['type']}]"))
        return shown

    @staticmethod
    def _find(options: list[Option], label: str) -> Option | None:
        wanted = label.lower()
        for o in options:
            if o.label.lower() == wanted:
                return o
        for o in options:
            if o.label.lower().startswith(wanted) or o.description.lower().startswith(wanted):
                return o
        return None

    async def _press(self, user: str, option: Option) -> list[Bubble]:
        if option.how == "number":
            return await self.send_text(user, option.id)
        context = {"from": "15550783881", "id": option.wamid}
        if option.how == "button":
            interactive = {"type": "button_reply", "button_reply": {"id": option.id, "title": option.label}}
            return await self.deliver(user, self.body("button_reply", user, interactive=interactive, context=context))
        reply = {"id": option.id, "title": option.label, "description": option.description}
        interactive = {"type": "list_reply", "list_reply": reply}
        return await self.deliver(user, self.body("list_reply", user, interactive=interactive, context=context))

    # -- contract.ChannelDriver ---------------------------------------------------------

    async def send_text(self, user: str, text: str) -> list[Bubble]:
        return await self.deliver(user, self.body("text", user, text={"body": text}))

    async def send_forged(self, user: str, text: str) -> int:
        """A text signed with another app secret: refused, and nothing is answered or kept."""
        raw = json.dumps(self.body("text", user, text={"body": text})).encode()
        before = len(self.graph.sent)
        response = await self.post(raw, signature=sign(raw, "not-the-app-secret"))
        await self.channel.drain()
        assert len(self.graph.sent) == before
        return response.status_code

    async def press(self, user: str, label: str) -> list[Bubble]:
        latest = self.history.get(user, [Shown()])[-1]
        option = self._find(latest.options, label)
        assert option is not None, f"no option {label!r} in {[o.label for o in latest.options]}"
        return await self._press(user, option)

    async def press_stale(self, user: str, label: str) -> list[Bubble]:
        for shown in reversed(self.history.get(user, [])[:-1]):
            option = self._find([o for o in shown.options if o.how != "number"], label)
            if option is not None:
                return await self._press(user, option)
        raise AssertionError(f"no older option {label!r}")

    async def share_contact(self, user: str, phone: str) -> list[Bubble]:
        # WhatsApp has no "share my number" control: the bot already knows the wa_id and offers it.
        return await self.press(user, "Pakai nomor ini")

    async def send_media(self, user: str, kind: str) -> list[Bubble]:
        return await self.deliver(user, self.body(MEDIA_SAMPLES[kind], user))

    async def replay_last(self, user: str) -> list[Bubble]:
        return await self._deliver_raw(user, self.last_raw[user])

    # -- statuses -----------------------------------------------------------------------

    async def post_statuses(self, *statuses: tuple[str, str, int | None]) -> None:
        body = sample("status_sent")
        template = body["entry"][0]["changes"][0]["value"]["statuses"][0]
        items = []
        for wamid, status, code in statuses:
            item = {**template, "id": wamid, "status": status}
            if code is not None:
                item["errors"] = [{"code": code, "title": f"error {code}"}]
            items.append(item)
        body["entry"][0]["changes"][0]["value"]["statuses"] = items
        response = await self.post(json.dumps(body).encode())
        assert response.status_code == 200
        await self.channel.drain()


def _settings(db_url: str, graph: FakeGraph) -> Settings:
    return Settings(  # type: ignore[call-arg]
        BPU_DATABASE_URL=db_url,
        BPU_SECRET_KEY=TEST_SECRET,
        WHATSAPP_ACCESS_TOKEN="test-access-token",
        WHATSAPP_PHONE_NUMBER_ID=PHONE_ID,
        WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        WHATSAPP_API_BASE_URL=graph.base_url,
    )


VARIANTS = ["cloud-api"]


@contextlib.asynccontextmanager
async def open_driver(env: Env, variant: str = "cloud-api") -> AsyncIterator[WhatsAppDriver]:
    graph = FakeGraph()
    graph.start_in_thread()
    try:
        runtime = Runtime(_settings(env.db_url, graph), env.db, env.cipher, env.engine)
        channel = make_whatsapp_channel(runtime.deps, retry_delays=(0.01, 0.01, 0.01), pair_delay=0.01)
        runtime.channels = [channel]
        await channel.start()
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
            yield WhatsAppDriver(client, channel, graph, env.clock)
        await channel.stop()
    finally:
        graph.stop()
