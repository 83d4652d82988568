"""A copy of the database taken while the bot runs, and putting one back.

SQLite: the online backup API copies page by page while others read and write, so the copy is
one consistent moment of the database (a plain file copy of a WAL database may not be).
PostgreSQL: pg_dump in its custom format (one snapshot, whatever runs meanwhile); restore with
pg_restore into an empty database. Both keep the NIKs encrypted: the copy is only readable with
the same BPU_SECRET_KEY, which is kept apart from it.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.db import is_sqlite

PAGES_PER_STEP = 256  # a step holds the source's lock briefly; writers go on between steps


class BackupError(RuntimeError):
    pass


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def backup(url: str, target: Path) -> str:
    """Write a backup of the database at `url` to `target`; returns how to restore it."""
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file (a backup never overwrites one)")
    if is_sqlite(url):
        source = _sqlite_file(url)
        if not source.exists():
            raise BackupError(f"{source} does not exist")
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst, pages=PAGES_PER_STEP)
        return f"restore: stop the bot, copy {target} to {source}, start it again"
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    plain = make_url(url).set(drivername="postgresql")
    done = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", plain.render_as_string(hide_password=False)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return f"restore: pg_restore --no-owner --dbname=<an empty database> {target}, then bpu-bot db upgrade"
