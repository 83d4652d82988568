"""`bpu-bot nlu unknown`: what workers asked that the bot could not place, grouped and counted."""

from __future__ import annotations

import argparse
import asyncio


def cmd_nlu_unknown(args: argparse.Namespace) -> int:
    from bot.settings import Settings
    from storage import repositories as repo
    from storage.db import Database
    from storage.migrate import upgrade

    settings = Settings()
    upgrade(settings.database_url)

    async def go() -> list[object]:
        db = Database(settings.database_url)
        try:
            async with db.session() as session:
                return await repo.unanswered_groups(session, limit=args.limit, include_handled=args.all)
        finally:
            await db.dispose()

    rows = asyncio.run(go())
    if not rows:
        print("no unanswered messages")
        return 0
    print(f"{'count':>5}  {'guess':<18} message (personal numbers masked)")
    for row in rows:
        print(f"{row.count:>5}  {(row.guess or '-'):<18} {row.example[:100]}")  # type: ignore[attr-defined]
    return 0


def register(nlu_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    unknown = nlu_sub.add_parser("unknown", help="messages the bot could not place, grouped and counted")
    unknown.add_argument("--limit", type=int, default=50)
    unknown.add_argument("--all", action="store_true", help="include the ones marked handled")
    unknown.set_defaults(func=cmd_nlu_unknown)
