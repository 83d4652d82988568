"""The database's care through the real commands: a backup taken while `bpu-bot run` answers
restores into an empty database and the bot carries on from it; `bpu-bot secret rotate` keeps
every NIK readable (leads and half-filled forms), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from storage.crypto import FieldCipher
from storage.db import Database, is_sqlite
from storage.models import Contact, ConversationState, Lead
from tests.processes import run, start, stop, wait_healthy

NIK, BORN = "3673015508900001", "15-08-1990"
NIK2, BORN2 = "3604011203800007", "12-03-1980"
FORM = ["mau daftar", "setuju", "Siti Aminah", NIK, BORN, "081234567890", "Kota Serang", "taktakan", "pedagang",
        "1,5 jt", "2 program", "ditelepon", "kirim"]  # fmt: skip


def chat(tmp_path: Path, url: str, key: str, user: str, lines: list[str]) -> str:
    done = run(["chat", "--user", user], tmp_path, "\n".join(lines) + "\n", BPU_DATABASE_URL=url, BPU_SECRET_KEY=key)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def read(url: str, query):  # type: ignore[no-untyped-def]
    db = Database(url)
    try:
        async with db.session() as session:
            return (await session.execute(query)).all()
    finally:
        await db.dispose()


# ---------------------------------------------------------------- secret rotate


async def test_secret_rotate_keeps_every_nik_readable(db_url: str, tmp_path: Path) -> None:
    old, new = "old-secret-key-1", "new-secret-key-2"
    assert "sudah kami terima" in chat(tmp_path, db_url, old, "u1", FORM)
    assert "tanggal lahir" in chat(tmp_path, db_url, old, "u2", ["mau daftar", "setuju", "Budi Santoso", NIK2]).lower()

    wrong = run(["secret", "rotate"], tmp_path, BPU_DATABASE_URL=db_url, BPU_SECRET_KEY=new, BPU_OLD_SECRET_KEY="nope")
    assert wrong.returncode == 1 and "nothing was changed" in wrong.stderr
    (lead_before,) = await read(db_url, select(Lead.nik_encrypted, Lead.nik_hash))
    assert FieldCipher(old).decrypt(lead_before.nik_encrypted) == NIK  # untouched by the failed run

    done = run(["secret", "rotate"], tmp_path, BPU_DATABASE_URL=db_url, BPU_SECRET_KEY=new, BPU_OLD_SECRET_KEY=old)
    assert done.returncode == 0, done.stderr
    assert "1 NIKs of leads, 1 NIKs in unfinished forms" in done.stdout
    (lead,) = await read(db_url, select(Lead.nik_encrypted, Lead.nik_hash, Lead.nik_tail_hash))
    assert FieldCipher(new).decrypt(lead.nik_encrypted) == NIK and lead.nik_hash == FieldCipher(new).keyed_hash(NIK)
    assert lead.nik_tail_hash == FieldCipher(new).tail_hash(NIK)  # a search by the last 4 digits still finds it
    # The half-filled form goes on under the new key: its date of birth is checked against the NIK.
    assert "nomor hp" in chat(tmp_path, db_url, new, "u2", [BORN2]).lower()
    # The same NIK is still found twice under the new key.
    assert "sudah pernah" in chat(tmp_path, db_url, new, "u3", ["mau daftar", "setuju", "Siti A", NIK]).lower()

    again = run(["secret", "rotate"], tmp_path, BPU_DATABASE_URL=db_url, BPU_SECRET_KEY=new, BPU_OLD_SECRET_KEY=old)
    assert again.returncode == 0 and "0 NIKs of leads" in again.stdout and "already under the new key" in again.stdout


def test_secret_rotate_refuses_without_the_old_key_or_with_the_same(tmp_path: Path, sqlite_url: str) -> None:
    missing = run(["secret", "rotate"], tmp_path, BPU_DATABASE_URL=sqlite_url, BPU_SECRET_KEY="k")
    assert missing.returncode == 2 and "BPU_OLD_SECRET_KEY" in missing.stderr
    same = run(["secret", "rotate"], tmp_path, BPU_DATABASE_URL=sqlite_url, BPU_SECRET_KEY="k", BPU_OLD_SECRET_KEY="k")
    assert same.returncode == 2 and "still the old key" in same.stderr


# ---------------------------------------------------------------- backup while answering


async def test_a_backup_taken_while_the_bot_answers_restores_and_the_bot_carries_on(
    db_url: str, empty_db_url: str, tmp_path: Path
) -> None:
    if is_sqlite(db_url) != is_sqlite(empty_db_url):
        pytest.skip("a backup is restored into the same kind of database")
    key = "backup-secret-key"
    proc, base = start(tmp_path, BPU_DATABASE_URL=db_url, BPU_SECRET_KEY=key)
    await wait_healthy(base, proc)
    backup = tmp_path / ("bpu.backup" if not is_sqlite(db_url) else "bpu-backup.db")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:

            async def say(user: str, text: str) -> str:
                response = await client.post("/simulator/api/message", json={"user": user, "text": text})
                assert response.status_code == 200, response.text
                return "\n".join(r["text"] for r in response.json()["replies"])

            for line in ["mau daftar", "setuju", "Siti Aminah"]:
                said = await say("web-w1", line)
            assert "NIK" in said  # w1 stops at the NIK question before the backup

            talking = True

            async def others() -> int:
                n = 0
                while talking:
                    await say(f"web-o{n % 7}", ["halo", "berapa iuran minimal?", "cara bayar"][n % 3])
                    n += 1
                return n

            chatter = asyncio.create_task(others())
            await asyncio.sleep(0.5)
            done = await asyncio.to_thread(
                run, ["db", "backup", str(backup)], tmp_path, BPU_DATABASE_URL=db_url, BPU_SECRET_KEY=key
            )
            talking = False
            answered = await chatter
            assert done.returncode == 0, done.stderr
            assert "restore:" in done.stdout and answered >= 3  # the bot kept answering meanwhile
    finally:
        await stop(proc)

    if is_sqlite(db_url):
        with sqlite3.connect(backup) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        shutil.copy(backup, make_url(empty_db_url).database or "")
    else:
        restored = subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={empty_db_url}", str(backup)], capture_output=True, text=True
        )
        assert restored.returncode == 0, restored.stderr
    assert run(["db", "upgrade"], tmp_path, BPU_DATABASE_URL=empty_db_url).returncode == 0
    (w1,) = await read(
        empty_db_url, select(ConversationState.step).join(Contact).where(Contact.external_id == "web-w1")
    )
    assert w1.step == "form:nik"
    (count,) = await read(empty_db_url, select(func.count()).select_from(Contact))
    assert count[0] >= 2

    proc, base = start(tmp_path, BPU_DATABASE_URL=empty_db_url, BPU_SECRET_KEY=key)
    await wait_healthy(base, proc)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            response = await client.post("/simulator/api/message", json={"user": "web-w1", "text": NIK})
            assert "tanggal lahir" in "\n".join(r["text"] for r in response.json()["replies"]).lower()
    finally:
        await stop(proc)


def test_a_backup_never_overwrites_a_file(tmp_path: Path, sqlite_url: str) -> None:
    target = tmp_path / "exists.db"
    target.write_text("keep me")
    done = run(["db", "backup", str(target)], tmp_path, BPU_DATABASE_URL=sqlite_url)
    assert done.returncode == 1 and "exists" in done.stderr and target.read_text() == "keep me"


async def test_secret_rotate_as_deployed_reads_both_keys_from_credential_files(tmp_path: Path, sqlite_url: str) -> None:
    """docs/deploy.md: the keys come as files (systemd's LoadCredential), never on a command line."""
    assert "sudah kami terima" in chat(tmp_path, sqlite_url, "old-secret-key-1", "u1", FORM)
    secrets = tmp_path / "credentials"
    secrets.mkdir()
    (secrets / "BPU_SECRET_KEY").write_text("new-secret-key-2\n")
    (secrets / "BPU_OLD_SECRET_KEY").write_text("old-secret-key-1\n")
    done = run(["secret", "rotate"], tmp_path, BPU_DATABASE_URL=sqlite_url, CREDENTIALS_DIRECTORY=str(secrets))
    assert done.returncode == 0 and "1 NIKs of leads" in done.stdout, done.stderr
    (lead,) = await read(sqlite_url, select(Lead.nik_encrypted))
    assert FieldCipher("new-secret-key-2").decrypt(lead.nik_encrypted) == NIK
