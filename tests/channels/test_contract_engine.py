"""The contract suite straight through the engine: the reference every channel is held to."""

from __future__ import annotations

from handlers.engine import Engine
from handlers.messages import Kind, Reply
from tests.channels import contract
from tests.channels.contract import Bubble
from tests.factories import Chat


class EngineDriver:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.chats: dict[str, Chat] = {}
        self.history: dict[str, list[list[Reply]]] = {}
        self.last_update: dict[str, dict[str, object]] = {}

    def _chat(self, user: str) -> Chat:
        return self.chats.setdefault(user, Chat(self.engine, user=user))

    async def _send(self, user: str, **kw: object) -> list[Bubble]:
        chat = self._chat(user)
        replies = await chat.send(**kw)
        self.last_update[user] = kw
        self.history.setdefault(user, []).append(replies)
        return [Bubble(r.text, [b.label for b in r.buttons]) for r in replies]

    async def send_text(self, user: str, text: str) -> list[Bubble]:
        return await self._send(user, text=text, update_id=f"{user}-{len(self.history.get(user, []))}")

    async def press(self, user: str, label: str) -> list[Bubble]:
        button = self._chat(user).find(label)
        return await self._send(
            user, text=button.label, payload=button.payload, kind=Kind.BUTTON,
            update_id=f"{user}-{len(self.history.get(user, []))}",
        )  # fmt: skip

    async def press_stale(self, user: str, label: str) -> list[Bubble]:
        for replies in reversed(self.history[user][:-1]):
            for reply in replies:
                for button in reply.buttons:
                    if button.label.startswith(label):
                        return await self._send(
                            user, text=button.label, payload=button.payload, kind=Kind.BUTTON,
                            update_id=f"{user}-{len(self.history[user])}",
                        )  # fmt: skip
        raise AssertionError(f"no older button {label!r}")

    async def share_contact(self, user: str, phone: str) -> list[Bubble]:
        return await self._send(
            user, kind=Kind.CONTACT, contact_phone=phone, update_id=f"{user}-{len(self.history[user])}"
        )

    async def send_media(self, user: str, kind: str) -> list[Bubble]:
        return await self._send(user, kind=Kind(kind), update_id=f"{user}-{len(self.history.get(user, []))}")

    async def replay_last(self, user: str) -> list[Bubble]:
        replies = await self._chat(user).send(**self.last_update[user])
        return [Bubble(r.text, [b.label for b in r.buttons]) for r in replies]


async def test_contract_through_the_engine(engine) -> None:
    await contract.run_contract(EngineDriver(engine))
