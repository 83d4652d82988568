"""Three `bpu-bot run` processes on one PostgreSQL, their webhooks spread round-robin as a reverse
proxy would (each worker's consecutive messages land on different processes, the worst case):
every worker writes five messages in a burst over Telegram and WhatsApp, and every answer comes
in order, none doubled, none lost; one process leads the scheduler.

WORKERS per channel by default; BPU_TEST_SLOW=1 runs the issue's 300 (150 per channel)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage.db import is_sqlite
from tests.channels.fake_graph import FakeGraph
from tests.channels.fake_telegram import FakeTelegram
from tests.processes import both_channels_env, signed, start, stop, wait_healthy
from tests.waiting import eventually

SLOW = os.environ.get("BPU_TEST_SLOW") == "1"
WORKERS = 150 if SLOW else 20  # per channel
INCOMES = (2, 3, 4, 5, 6)  # juta: each message's answer names its own income
SAMPLE = Path(__file__).resolve().parents[1] / "channels" / "data" / "whatsapp" / "text.json"
SECRET = "three-process-webhook-secret"
_AMOUNT = re.compile(r"Rp(\d)\.000\.000")


def _said(text: str) -> int | None:
    """The income an answer quotes (in juta), the first one it names."""
    match = _AMOUNT.search(text)
    return int(match.group(1)) if match else None


def _question(income: int) -> str:
    return f"berapa iuran kalau penghasilan {income} juta sebulan?"


async def test_three_processes_answer_every_worker_in_order(tmp_path: Path, db_url: str) -> None:
    if is_sqlite(db_url):
        pytest.skip("several bpu-bot processes share one database on PostgreSQL only")
    fake = await FakeTelegram().start()
    graph = FakeGraph()
    graph_url = await graph.serve()
    env = both_channels_env(fake, graph_url, db_url, SECRET)
    procs: list[tuple[Any, str]] = []
    try:
        for n in range(3):
            folder = tmp_path / f"p{n}"
            folder.mkdir()
            procs.append(start(folder, **env, TELEGRAM_WEBHOOK_URL="http://127.0.0.1:9/webhook/telegram"))
        for proc, base in procs:
            await wait_healthy(base, proc)
        bases = [base for _, base in procs]
        sample = json.loads(SAMPLE.read_text())
        update_ids = itertools.count(1)
        started = time.monotonic()

        async def telegram_worker(client: httpx.AsyncClient, w: int) -> None:
            chat = 500_000 + w
            for k, income in enumerate(INCOMES):
                update = {
                    "update_id": next(update_ids),
                    "message": {"message_id": k + 1, "date": int(time.time()), "text": _question(income),
                                "chat": {"id": chat, "type": "private"},
                                "from": {"id": chat, "is_bot": False, "first_name": "W"}},
                }  # fmt: skip
                base = bases[(w + k) % 3]  # the next message of this worker: the next process
                response = await client.post(
                    f"{base}/webhook/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
                )
                assert response.status_code == 200, response.text

        async def whatsapp_worker(client: httpx.AsyncClient, w: int) -> None:
            number = f"62813{w:08d}"
            for k, income in enumerate(INCOMES):
                body = json.loads(json.dumps(sample))
                value = body["entry"][0]["changes"][0]["value"]
                value["contacts"][0]["wa_id"] = number
                message = value["messages"][0]
                message.update(id=f"wamid.three.{w}.{k}", timestamp=str(int(time.time())))
                message["from"] = number
                message["text"]["body"] = _question(income)
                raw = json.dumps(body).encode()
                base = bases[(w + k) % 3]
                response = await client.post(f"{base}/webhook/whatsapp", content=raw, headers=signed(raw))
                assert response.status_code == 200, response.text

        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            await asyncio.gather(
                *(telegram_worker(client, w) for w in range(WORKERS)),
                *(whatsapp_worker(client, w) for w in range(WORKERS)),
            )

        def telegram_answers(w: int) -> list[int | None]:
            return [_said(m.text) for m in fake.messages_to(500_000 + w)]

        def whatsapp_answers(w: int) -> list[int | None]:
            return [_said(json.dumps(b, ensure_ascii=False)) for b in graph.messages_to(f"62813{w:08d}")]

        def all_answered() -> bool:
            return all(len(telegram_answers(w)) >= 5 and len(whatsapp_answers(w)) >= 5 for w in range(WORKERS))

        def progress() -> str:
            done = sum(len(telegram_answers(w)) + len(whatsapp_answers(w)) for w in range(WORKERS))
            return f"{done} of {10 * WORKERS} answers"

        await eventually(all_answered, seconds=240 if SLOW else 90, what=progress)
        await asyncio.sleep(1.0)  # anything doubled would arrive now
        elapsed = time.monotonic() - started
        async with httpx.AsyncClient() as client:
            roles = [(await client.get(f"{base}/healthz")).json()["scheduler"] for base in bases]
    finally:
        for proc, _ in procs:
            await stop(proc)
        await fake.stop()
        graph.stop()

    wrong = {f"telegram {w}": telegram_answers(w) for w in range(WORKERS) if telegram_answers(w) != list(INCOMES)}
    wrong |= {f"whatsapp {w}": whatsapp_answers(w) for w in range(WORKERS) if whatsapp_answers(w) != list(INCOMES)}
    assert wrong == {}, f"answers out of order, doubled or lost: {dict(list(wrong.items())[:5])}"
    states = sorted(r if isinstance(r, str) else r.get("state") for r in roles)
    assert states == ["leader", "standby", "standby"], roles
    print(f"{2 * WORKERS * len(INCOMES)} messages of {2 * WORKERS} workers answered in order in {elapsed:.1f} s")
