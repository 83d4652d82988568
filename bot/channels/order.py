"""One chat's messages answered in the order they came, across every process of the bot.

A channel keeps each webhook body in the inbox before acknowledging it, with the chat it belongs
to. Before handling a body, it waits while an earlier body of the same chat is still in the inbox:
that one is being handled by another process (or this one). So a worker whose second message
lands on another process than the first is answered in order. Within one process the channel's
own per-chat lock keeps the order; the database lock of a turn (storage/turns.py) keeps two
processes from writing one conversation at once.

A body left by a process that died stays in the inbox until that process starts again; after
`PATIENCE` seconds the later message goes on rather than wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection

from storage import outbound
from storage.db import Database, is_sqlite

log = logging.getLogger(__name__)

PATIENCE = 30.0  # seconds a message waits for an earlier one of its chat
FIRST_WAIT, LONGEST_WAIT = 0.02, 0.25


def chat_key(user_id: object) -> str | None:
    """The inbox's chat column for a user id (None when the body is not one chat's)."""
    return None if user_id is None else str(user_id)[:64]


async def wait_turn(
    db: Database,
    channel: str,
    chat: str | None,
    inbox_id: int,
    *,
    handled_here: Callable[[], Collection[int]] = tuple,
) -> None:
    """Return when no earlier body of `chat` is in the inbox (bodies this process handled and
    will remove in a moment, `handled_here()`, do not count)."""
    if chat is None or is_sqlite(db.url):
        return  # SQLite: one process, whose per-chat lock already keeps the order
    started, delay = time.monotonic(), FIRST_WAIT
    while True:
        try:
            async with db.session() as session:
                waiting = await outbound.earlier_in_inbox(session, channel, chat, inbox_id, set(handled_here()))
        except Exception as exc:  # the database is away: the turn itself will wait for it
            log.warning("%s: order not checked (%s)", channel, type(exc).__name__)
            return
        if not waiting:
            return
        if time.monotonic() - started > PATIENCE:
            log.warning("%s: an earlier message of a chat is still kept after %.0f s; going on", channel, PATIENCE)
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, LONGEST_WAIT)
