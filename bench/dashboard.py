"""Dashboard benchmark: 100,000 leads in PostgreSQL.

The leads page (filtered, page 50) and the overview must answer in under 300 ms at the median;
an XLSX export of all 100,000 rows must finish without holding them in memory (peak RSS printed).

    .venv/bin/python bench/dashboard.py [postgresql://postgres@127.0.0.1:5432/test]

It creates the database `bpu_bench_dashboard` beside the one in the URL and drops it after.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

ADMIN_URL = (
    sys.argv[1]
    if len(sys.argv) > 1 and sys.argv[1].startswith("postgres")
    else (os.environ.get("BPU_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test")
)
NAME = "bpu_bench_dashboard"
LEADS = 100_000
SECRET = "bench-secret-not-for-production"
PASSWORD = "bench-password-123"
RUNS = 21


def _url(database: str) -> str:
    return make_url(ADMIN_URL).set(database=database).render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    import asyncpg

    url = make_url(ADMIN_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _seed(url: str) -> None:
    from bot.dashboard.auth import hash_password
    from content import regions
    from handlers.redact import mask_nik
    from storage import repositories as repo
    from storage.crypto import FieldCipher
    from storage.db import Database
    from storage.models import Contact, Lead

    rng = random.Random(7)
    cipher = FieldCipher(SECRET)
    kecamatan = [k.code for kk in regions.OUTREACH for k in regions.kecamatan_of(kk)]
    db = Database(url)
    async with db.session() as session:
        await repo.add_staff(session, name="Admin", role="admin", password_hash=hash_password(PASSWORD))
        coords = [
            (await repo.add_staff(session, name=f"Koor {kk}", role="coordinator", areas=[kk])).id
            for kk in regions.OUTREACH
        ]
    now = datetime.now(UTC)
    token = cipher.encrypt("3673015508900001")  # one ciphertext: encryption speed is not measured here
    batch = 5_000
    for start in range(0, LEADS, batch):
        contacts, leads = [], []
        for i in range(start, start + batch):
            kec = rng.choice(kecamatan)
            created = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
            contacts.append(
                dict(channel="telegram", external_id=f"b{i}", language="id", region_code=kec, created_at=created)
            )
            nik = f"{kec}{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(60, 99):02d}{i % 9999 + 1:04d}"
            leads.append(
                dict(
                    full_name=f"Pekerja {rng.choice(['Ani', 'Budi', 'Siti', 'Dedi', 'Rina', 'Ujang'])} {i}",
                    nik_encrypted=token,
                    nik_hash=cipher.keyed_hash(nik),
                    nik_masked=mask_nik(nik),
                    birth_date=date(1990, 1, 1),
                    phone_e164=f"+62812{i:08d}",
                    kabkota_code=kec[:4],
                    kecamatan_code=kec,
                    occupation=rng.choice(["transport", "trader", "farmer", "fisher", "day_labourer"]),
                    is_transport=False,
                    declared_income=2_000_000,
                    programmes=2,
                    continue_via="visit",
                    status=rng.choices(["new", "contacted", "registered", "declined"], [4, 3, 2, 1])[0],
                    timezone="Asia/Jakarta",
                    campaign_code=rng.choice([None, None, "PASAR1", "OJOL2"]),
                    channel="telegram",
                    assigned_staff_id=coords[regions.OUTREACH.index(kec[:4])],
                    created_at=created,
                    updated_at=created,
                )
            )
        async with db.session() as session:
            await session.execute(insert(Contact), contacts)
            await session.execute(insert(Lead), leads)
    async with db.engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE")
    await db.dispose()


def _runtime(url: str):  # type: ignore[no-untyped-def]
    from bot.runtime import build
    from bot.settings import Settings

    settings = Settings(
        BPU_DATABASE_URL=url, BPU_SECRET_KEY=SECRET, BPU_TARGET=101000, BPU_TARGETS_BY_REGION="3673=20000,3604=30000"
    )
    # The whole runtime (the dashboard's pages read the engine's renderer); already migrated.
    return build(settings, migrate=False)


async def _client(url: str) -> tuple[httpx.AsyncClient, object]:
    from bot.http import create_app

    runtime = _runtime(url)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://bench", timeout=600
    )
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = await client.post("/login", data={"csrf": token, "name": "Admin", "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    return client, runtime


async def _median(client: httpx.AsyncClient, url: str) -> tuple[float, int]:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        r = await client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return statistics.median(times), len(r.content)


async def _pages(url: str) -> dict[str, float]:
    client, runtime = await _client(url)
    try:
        query = "/leads?area=3604&status=new"
        link = query
        for _ in range(49):  # follow "next" to page 50, as staff would
            page = await client.get(link)
            m = re.search(r'rel="next" href="([^"]+)"', page.text)
            assert m, (link, page.status_code, page.text[-3000:])
            link = m.group(1).replace("&amp;", "&")  # type: ignore[union-attr]
        assert "Halaman 50" in (await client.get(link)).text
        leads_ms, _ = await _median(client, link)
        first_ms, _ = await _median(client, "/leads")
        search_ms, _ = await _median(client, "/leads?q=Siti%2012")
        overview_ms, _ = await _median(client, "/")
        return {
            "leads page 50 (area+status filter)": leads_ms,
            "leads page 1 (no filter)": first_ms,
            "leads search by name": search_ms,
            "overview": overview_ms,
        }
    finally:
        await client.aclose()
        await runtime.db.dispose()  # type: ignore[attr-defined]


async def _export(url: str) -> None:
    """Run in a child process: peak RSS before and after streaming an XLSX of every lead."""
    client, runtime = await _client(url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    size = 0
    async with client.stream("GET", "/leads/export.xlsx") as r:
        assert r.status_code == 200
        async for chunk in r.aiter_bytes():
            size += len(chunk)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    await client.aclose()
    await runtime.db.dispose()  # type: ignore[attr-defined]
    print(
        f"xlsx export: {LEADS:,} rows, {size / 1e6:.1f} MB in {seconds:.1f} s; "
        f"peak RSS {before:.0f} MB before -> {after:.0f} MB after"
    )


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--export":
        asyncio.run(_export(sys.argv[2]))
        return 0
    from storage.migrate import upgrade

    url = _url(NAME)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
    asyncio.run(_admin(f'CREATE DATABASE "{NAME}"'))
    try:
        upgrade(url)
        t0 = time.perf_counter()
        asyncio.run(_seed(url))
        print(f"seeded {LEADS:,} leads and {LEADS:,} contacts in {time.perf_counter() - t0:.1f} s")
        results = asyncio.run(_pages(url))
        ok = True
        for name, ms in results.items():
            print(f"{name}: median {ms:.1f} ms over {RUNS} requests")
        ok = results["leads page 50 (area+status filter)"] < 300 and results["overview"] < 300
        subprocess.run([sys.executable, __file__, "--export", url], check=True)
        print("PASS" if ok else "FAIL: a page is slower than 300 ms at the median")
        return 0 if ok else 1
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main())
