"""The dashboard served by a real `bpu-bot run` on a seeded SQLite database, and a browser logged
into it: shared by the dashboard's browser test modules (`server` and `browser` are module fixtures)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.browser import launch
from tests.conftest import TEST_SECRET
from tests.dashboard.conftest import KASEMEN, MUNCANG, PASSWORD
from tests.processes import BIN, free_port, wait_for

XSS = "<script>alert(1)</script>"


async def _seed(url: str) -> None:
    from storage import repositories as repo
    from storage.crypto import FieldCipher
    from storage.db import Database
    from tests.dashboard.conftest import add_lead, add_staff

    db = Database(url)
    cipher = FieldCipher(TEST_SECRET)
    try:
        await add_staff(db, "Admin Cabang", "admin")
        await add_staff(db, "Staf Kantor", "staff")
        koor = await add_staff(db, "Koor Kota", "coordinator", ("3673",))
        await add_staff(db, "Koor Lebak", "coordinator", ("3602",))
        await add_lead(db, cipher, name=XSS, kecamatan=KASEMEN, assigned=koor)
        await add_lead(db, cipher, name="Siti Kasemen", kecamatan=KASEMEN, assigned=koor, occupation="fisher")
        await add_lead(db, cipher, name="Dedi Muncang", kecamatan=MUNCANG, status="contacted")
        async with db.session() as session:  # workers a campaign to Kota Serang reaches
            for i, (channel, region) in enumerate(
                (("telegram", KASEMEN), ("whatsapp", KASEMEN), ("telegram", MUNCANG))
            ):
                contact, _ = await repo.get_or_create_contact(session, channel, f"62812000{i}")
                contact.region_code = region
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from storage.migrate import upgrade

    tmp = tmp_path_factory.mktemp("dash")
    url = f"sqlite:///{tmp / 'dash.db'}"
    # Playwright's sync API keeps an event loop on this thread: prepare the database on another.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(upgrade, url).result()
        pool.submit(asyncio.run, _seed(url)).result()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_", "BPU_"))}
    env.update(
        BPU_HTTP_PORT=str(port),
        BPU_DATABASE_URL=url,
        BPU_SECRET_KEY=TEST_SECRET,
        BPU_TARGET="101000",
        TELEGRAM_BOT_USERNAME="bpu_serang_bot",
        WHATSAPP_DISPLAY_NUMBER="081200001111",
    )
    proc = subprocess.Popen(
        [str(BIN), "run"], cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for(f"http://127.0.0.1:{port}/healthz", proc)
    yield f"http://127.0.0.1:{port}"
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def login(browser, server: str, name: str, width: int):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(f"a script ran: {d.message}")))
    page.goto(f"{server}/")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    return context, page
