"""`bpu-bot broadcast` end to end in-process: create (preview, --yes), list, status, cancel."""

from __future__ import annotations

import argparse

import pytest

from bot import cli_broadcast
from tests.delivery.helpers import seed_contacts


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpu-bot")
    cli_broadcast.register(parser.add_subparsers(dest="command", required=True))
    return parser


async def test_create_list_status_cancel(sqlite_url, monkeypatch, capsys, tmp_path) -> None:
    import asyncio

    from storage.db import Database

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BPU_DATABASE_URL", sqlite_url)
    db = Database(sqlite_url)
    await seed_contacts(db, 5)
    await db.dispose()

    def run(*argv: str) -> int:
        args = _parser().parse_args(argv)
        return args.func(args)

    code = await asyncio.to_thread(run, "broadcast", "create", "--template", "broadcast_sosialisasi",
                                   "--var", "place=Kel. Cipare", "--var", "date=2026-12-01", "--var", "time=09.00",
                                   "--channel", "telegram", "--rsvp", "--yes")  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "recipients: 5 (telegram 5)" in out and "1 Desember 2026" in out and "[Hadir]  [Tidak bisa]" in out
    assert await asyncio.to_thread(run, "broadcast", "list") == 0
    assert "scheduled" in capsys.readouterr().out
    assert await asyncio.to_thread(run, "broadcast", "cancel", "1") == 0
    assert await asyncio.to_thread(run, "broadcast", "status", "1") == 0
    assert "cancelled" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        run("broadcast", "create", "--text", "x", "--template", "y")
    assert await asyncio.to_thread(run, "broadcast", "create", "--text", "x", "--segment", "area=12", "--yes") == 2
    # Several areas, a code of its own, and the link its messages carry.
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "bpu_serang_bot")
    code = await asyncio.to_thread(run, "broadcast", "create", "--text", "Acara", "--segment",
                                   "area=3673,360205,status=new", "--code", "SOS-CLI", "--yes")  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "campaign code SOS-CLI; telegram link https://t.me/bpu_serang_bot?start=SOS-CLI" in out, out
    assert await asyncio.to_thread(run, "broadcast", "create", "--text", "x", "--code", "bad code", "--yes") == 2
