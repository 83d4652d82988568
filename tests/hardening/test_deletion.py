"""'hapus data saya' leaves no readable copy of the worker's data in the database files
(SQLite used to keep 23 copies of a deleted name in its write-ahead log until a checkpoint)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import Chat
from tests.forms import fill_to_summary

NAME = "siti aminah"  # what fill_to_summary types


def _files(db_url: str) -> bytes:
    path = Path(db_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


async def test_no_deleted_name_in_any_database_file(engine, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("reads the SQLite files themselves; PostgreSQL: README 'Deleting a worker's data' (VACUUM)")
    chat = Chat(engine, user="to-be-forgotten")
    await fill_to_summary(chat)
    await chat.press("Kirim")
    await chat.say("ceritanya saya siti aminah dari taktakan")  # the name in the message log too
    assert NAME.title().encode() in _files(db_url) or NAME.encode() in _files(db_url)
    await chat.say("hapus data saya")
    await chat.press("Ya, hapus")
    assert "sudah kami hapus" in chat.text
    # Checked while the bot still runs (no dispose, no restart): the files as they are now.
    everything = _files(db_url).lower()
    assert NAME.encode() not in everything
    assert b"taktakan" not in everything
