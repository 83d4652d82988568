"""Telegram updates kept in the database from before they are acknowledged until they are handled.

Telegram forgets an update once it is acknowledged: a webhook POST answered 200, or a polled
update below the offset of the next getUpdates. So an update is first written (encrypted: it may
hold a NIK) to the `webhook_inbox` table, the one WhatsApp's notifications use, and only after
that commit is it acknowledged. Its row is removed when it has been handled; a row left by a crash
is handled when the channel starts again (the engine answers each update id once, so a row handled
twice answers nothing the second time).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.order import chat_key
from bot.channels.telegram.common import CHANNEL, chat_of
from storage.crypto import FieldCipher
from storage.db import Database, is_sqlite
from storage.outbound import WebhookInbox, inbox_left

log = logging.getLogger(__name__)

REMOVE_EVERY = 0.2  # seconds: handled rows are removed in batches, not one commit per update


class TelegramInbox:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self.db = db
        self.cipher = cipher
        self._handled: list[int] = []
        self._here: set[int] = set()  # rows this process kept or took over and has not removed
        self._remover: asyncio.Task[None] | None = None
        self._closing = False

    async def keep(self, updates: Sequence[dict[str, Any]]) -> list[int]:
        """Write a batch of updates in one transaction; their row ids, in the same order.
        Raises whatever the database raises: then nothing was kept, nothing may be acknowledged."""
        return [inbox_id for inbox_id, _ in await self._keep(updates, ask_elsewhere=False)]

    async def keep_batch(self, updates: Sequence[dict[str, Any]]) -> list[tuple[int, bool]]:
        """`keep`, and for each row whether its chat has an earlier row another process kept
        (then its turn waits for that one, bot/channels/order.py). Asked in the same transaction,
        once per batch: a polled batch's chats almost never have one (Telegram has one poller),
        and asking per update was an eighth of the bot's CPU."""
        return await self._keep(updates, ask_elsewhere=True)

    async def _keep(self, updates: Sequence[dict[str, Any]], *, ask_elsewhere: bool) -> list[tuple[int, bool]]:
        bodies = [self.cipher.encrypt(json.dumps(u, separators=(",", ":"))) for u in updates]
        chats = [chat_key(chat_of(u)) for u in updates]  # one chat's updates are handled in order
        try:
            return await self._insert(bodies, chats, ask_elsewhere)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # A pooled connection the server dropped (a restart, an outage now over): the pool
            # is renewed, and one more try goes to a fresh connection.
            return await self._insert(bodies, chats, ask_elsewhere)

    async def _insert(
        self, bodies: Sequence[bytes], chats: Sequence[str | None], ask_elsewhere: bool
    ) -> list[tuple[int, bool]]:
        rows = [WebhookInbox(channel=CHANNEL, body=body, chat=chat) for body, chat in zip(bodies, chats, strict=True)]
        async with self.db.session() as session:
            session.add_all(rows)
            await session.flush()
            ids = [row.id for row in rows]
            waiting = await self._chats_kept_elsewhere(session, ids, chats) if ask_elsewhere else set()
        self._here.update(ids)
        return [(inbox_id, chat in waiting) for inbox_id, chat in zip(ids, chats, strict=True)]

    async def _chats_kept_elsewhere(
        self, session: AsyncSession, ids: list[int], chats: Sequence[str | None]
    ) -> set[str]:
        """Which of these chats have an earlier row that neither this batch nor this process holds.
        SQLite has one process: none."""
        named = {chat for chat in chats if chat is not None}
        if not named or is_sqlite(self.db.url):
            return set()
        query = select(WebhookInbox.chat).where(
            WebhookInbox.channel == CHANNEL,
            WebhookInbox.chat.in_(named),
            WebhookInbox.id < max(ids),
            WebhookInbox.id.notin_([*ids, *self._here]),
        )
        return {chat for (chat,) in (await session.execute(query.distinct())).all() if chat is not None}

    async def left(self) -> list[tuple[int, dict[str, Any]]]:
        """The rows not handled yet (a crash, a restart), oldest first. A row that cannot be read
        (the secret key changed) is dropped: it could never be handled."""
        async with self.db.session() as session:
            rows = await inbox_left(session, CHANNEL)
        self._here.update(inbox_id for inbox_id, _ in rows)
        kept: list[tuple[int, dict[str, Any]]] = []
        for inbox_id, body in rows:
            try:
                kept.append((inbox_id, json.loads(self.cipher.decrypt(body))))
            except Exception:
                log.error("telegram: inbox row %s cannot be read; dropped", inbox_id)
                self.handled(inbox_id)
        return kept

    def about_to_go(self) -> list[int]:
        """Rows handled here and not removed yet (they are removed in batches)."""
        return list(self._handled)

    def handled(self, inbox_id: int) -> None:
        """The row's update was handled: remove the row soon, with others handled meanwhile."""
        self._handled.append(inbox_id)
        if self._remover is None or self._remover.done():
            self._remover = asyncio.create_task(self._remove_soon())

    async def _remove_soon(self) -> None:
        # Until they are gone: a failed delete (a connection the outage left broken) is tried
        # again by itself, not only when the next update happens to be handled; and rows handled
        # while a delete was on its way (this task still running, so `handled` started none) go
        # with the next batch rather than wait for the next update.
        delay = REMOVE_EVERY
        await asyncio.sleep(delay)
        while not self._closing:
            if await self.remove_handled():
                if not self._handled:
                    return
                delay = REMOVE_EVERY
            else:
                delay = min(delay * 2, 5.0)
            await asyncio.sleep(delay)

    async def remove_handled(self) -> bool:
        """Remove the rows of handled updates; False when the database could not (they are tried
        again with the next batch; if the process stops first, they are handled again on start,
        which answers nothing twice)."""
        batch, self._handled = self._handled, []
        if not batch:
            return True
        try:
            async with self.db.session() as session:
                await session.execute(delete(WebhookInbox).where(WebhookInbox.id.in_(batch)))
        except Exception as exc:
            self._handled = batch + self._handled
            log.warning("telegram: %d handled inbox rows not removed yet (%s)", len(batch), type(exc).__name__)
            return False
        self._here.difference_update(batch)
        return True

    async def close(self) -> None:
        # Waited for, not cancelled: a delete cancelled halfway leaves the pool a connection to clean up.
        self._closing = True
        if self._remover is not None:
            await asyncio.gather(self._remover, return_exceptions=True)
        await self.remove_handled()
