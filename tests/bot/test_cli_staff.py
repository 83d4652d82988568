"""`bpu-bot staff add` as an admin runs it (issue 16 items 6 and 2): one login name in any case,
and a new coordinator picks up the unassigned leads of their areas."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import date
from pathlib import Path

from sqlalchemy import select

from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import Lead, Staff
from tests.conftest import TEST_SECRET
from tests.processes import run


def bpu_bot(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(list(args), cwd, BPU_DATABASE_URL=db_url, BPU_SECRET_KEY=TEST_SECRET)


async def _lead(db: Database, kecamatan: str) -> int:
    cipher = FieldCipher(TEST_SECRET)
    nik = f"{kecamatan}5508900001"
    async with db.session() as session:
        lead = Lead(full_name="Siti", nik_encrypted=cipher.encrypt(nik), nik_hash=cipher.keyed_hash(nik),
                    nik_masked=nik[:4] + "*" * 10 + nik[-2:], birth_date=date(1990, 8, 15), phone_e164="+6281234567890",
                    kabkota_code=kecamatan[:4], kecamatan_code=kecamatan, occupation="trader", declared_income=2_000_000,
                    programmes=2, continue_via="visit", status="new", timezone="Asia/Jakarta", channel="telegram")  # fmt: skip
        session.add(lead)
        await session.flush()
        return lead.id


async def test_staff_add_names_and_leads(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    try:
        waiting = await _lead(db, "367302")  # Kasemen, before it had a coordinator
        elsewhere = await _lead(db, "360205")
        first = await asyncio.to_thread(bpu_bot, db_url, tmp_path, "staff", "add", "--name", "Budi", "--role",
                                        "coordinator", "--area", "3673", "--telegram-id", "4242")  # fmt: skip
        assert first.returncode == 0, first.stderr
        assert "1 unassigned lead(s) of these areas are now assigned to them" in first.stdout

        second = await asyncio.to_thread(bpu_bot, db_url, tmp_path, "staff", "add", "--name", "budi", "--role", "staff")
        assert second.returncode == 1 and "already called 'Budi'" in second.stderr

        async with db.session() as session:
            budi = await session.scalar(select(Staff).where(Staff.name == "Budi"))
            assert budi is not None and len((await session.scalars(select(Staff))).all()) == 1
            assert (await session.get(Lead, waiting)).assigned_staff_id == budi.id  # type: ignore[union-attr]
            assert (await session.get(Lead, elsewhere)).assigned_staff_id is None  # type: ignore[union-attr]
    finally:
        await db.dispose()
