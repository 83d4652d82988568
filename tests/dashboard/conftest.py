"""Dashboard fixtures: the ASGI app over httpx, staff of each role, leads in two areas."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from handlers.redact import mask_nik
from storage import repositories as repo
from storage.models import Lead
from tests.conftest import TEST_SECRET

PASSWORD = "kata-sandi-rahasia-1"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
KOTA_SERANG = "3673"
KASEMEN = "367302"  # Kota Serang, kecamatan Kasemen
KAB_LEBAK = "3602"
MUNCANG = "360205"  # Kab. Lebak


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's defaults cost ~0.15 s a hash on purpose; tests log in hundreds of times."""
    from argon2 import PasswordHasher

    from bot.dashboard import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


def settings_for(url: str, **extra: Any) -> Settings:
    return Settings(
        BPU_DATABASE_URL=url,
        BPU_SECRET_KEY=TEST_SECRET,
        TELEGRAM_BOT_USERNAME="bpu_serang_bot",
        WHATSAPP_DISPLAY_NUMBER="0812-0000-1111",
        BPU_TARGET=101000,
        BPU_TARGETS_BY_REGION="3673=20000,3602=15000",
        **extra,
    )


@pytest.fixture
def runtime(db, cipher, engine) -> Runtime:  # type: ignore[no-untyped-def]
    return Runtime(settings_for(db.url), db, cipher, engine)


@pytest.fixture
async def client(runtime: Runtime):  # type: ignore[no-untyped-def]
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def add_staff(db, name: str, role: str, areas: tuple[str, ...] = (), password: str | None = PASSWORD) -> int:  # type: ignore[no-untyped-def]
    from bot.dashboard.auth import hash_password

    async with db.session() as session:
        staff = await repo.add_staff(
            session, name=name, role=role, areas=areas, password_hash=hash_password(password) if password else None
        )
        return staff.id


_serial = iter(range(1, 10_000))


async def add_lead(
    db,
    cipher,
    *,
    name: str = "Ani Lestari",
    kecamatan: str = KASEMEN,
    status: str = "new",  # type: ignore[no-untyped-def]
    assigned: int | None = None,
    created_at: datetime | None = None,
    **kw: Any,
) -> int:
    nik = f"{kecamatan}5508900{next(_serial):03d}"[:16].ljust(16, "1")
    async with db.session() as session:
        lead = Lead(
            full_name=name,
            nik_encrypted=cipher.encrypt(nik),
            nik_hash=cipher.keyed_hash(nik),
            nik_masked=mask_nik(nik),
            birth_date=date(1990, 8, 15),
            phone_e164=kw.pop("phone", "+6281234567890"),
            kabkota_code=kecamatan[:4],
            kecamatan_code=kecamatan,
            occupation=kw.pop("occupation", "trader"),
            is_transport=False,
            declared_income=2_000_000,
            programmes=2,
            continue_via="visit",
            status=status,
            timezone="Asia/Jakarta",
            campaign_code=kw.pop("campaign", None),
            channel="telegram",
            assigned_staff_id=assigned,
            created_at=created_at or datetime.now(UTC) - timedelta(hours=1),
            **kw,
        )
        session.add(lead)
        await session.flush()
        return lead.id


async def csrf_of(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    match = CSRF.search(page.text)
    assert match, f"no CSRF field on {path}: {page.status_code}"
    return match.group(1)


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    token = await csrf_of(client)
    return await client.post("/login", data={"csrf": token, "name": name, "password": password, "next": "/"})
