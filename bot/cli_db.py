"""`bpu-bot db backup FILE` and `bpu-bot secret rotate`: the database's care, from the command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

OLD_KEY_ENV = "BPU_OLD_SECRET_KEY"


def register(db_sub: Any, sub: Any) -> None:
    backup = db_sub.add_parser("backup", help="a consistent copy of the database, taken while the bot runs")
    backup.add_argument("file", type=Path, help="the file to write (never overwritten)")
    backup.set_defaults(func=cmd_db_backup)

    secret = sub.add_parser("secret", help="the secret key that encrypts the NIKs")
    secret_sub = secret.add_subparsers(dest="secret_command", required=True)
    rotate = secret_sub.add_parser(
        "rotate",
        help=f"re-encrypt under BPU_SECRET_KEY what the old key ({OLD_KEY_ENV} or --old-key-file) encrypted",
    )
    rotate.add_argument("--old-key-file", type=Path, help=f"a file holding the old key (else {OLD_KEY_ENV})")
    rotate.set_defaults(func=cmd_secret_rotate)


def cmd_db_backup(args: argparse.Namespace) -> int:
    from bot.settings import Settings
    from storage.backup import BackupError, backup

    try:
        how = backup(Settings().database_url, args.file)
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {args.file}\n{how}")
    return 0


def _old_key(args: argparse.Namespace) -> str | None:
    # Never a command-line argument: it would show in the process list and the shell's history.
    if args.old_key_file is not None:
        return args.old_key_file.read_text(encoding="utf-8").strip() or None
    for folder in (os.environ.get("CREDENTIALS_DIRECTORY"), os.environ.get("BPU_SECRETS_DIR")):
        # systemd's LoadCredential=BPU_OLD_SECRET_KEY:..., as docs/deploy.md runs it
        if folder and (Path(folder) / OLD_KEY_ENV).is_file():
            return (Path(folder) / OLD_KEY_ENV).read_text(encoding="utf-8").strip() or None
    return os.environ.get(OLD_KEY_ENV) or None


def cmd_secret_rotate(args: argparse.Namespace) -> int:
    from bot.settings import Settings
    from storage.crypto import FieldCipher
    from storage.rotate import RotationError

    old = _old_key(args)
    if old is None:
        print(f"secret rotate: give the old key in {OLD_KEY_ENV} or --old-key-file", file=sys.stderr)
        return 2
    settings = Settings()
    new = settings.resolved_secret_key()
    if new == old:
        print("secret rotate: BPU_SECRET_KEY is still the old key; set the new one first", file=sys.stderr)
        return 2
    try:
        done = asyncio.run(_rotate(settings.database_url, FieldCipher(old), FieldCipher(new)))
    except RotationError as exc:
        print(f"secret rotate: {exc}; nothing was changed", file=sys.stderr)
        return 1
    print(f"secret rotated: {done}")
    return 0


async def _rotate(url: str, old: Any, new: Any) -> Any:
    from storage.db import Database
    from storage.rotate import rotate

    db = Database(url)
    try:
        async with db.session() as session:
            return await rotate(session, old, new)
    finally:
        await db.dispose()
