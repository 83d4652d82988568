"""/metrics: what the engine and the delivery report, in Prometheus' text format."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics, understood
from handlers.engine import Engine
from tests.factories import Chat


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_updates_latency_and_fallbacks_are_counted_without_content(db, cipher, matcher, clock) -> None:
    metrics = Metrics(db, clock)
    engine = Engine(db, cipher, matcher, clock=clock, observe=metrics.observe)
    chat = Chat(engine, user="m1", channel="telegram")
    await chat.say("berapa iuran minimal?")
    await chat.say("asdfgh qwerty zxcv")  # not understood: a fallback
    await chat.say("nik saya 3673015508900001")
    await chat.say("halo", update_id="same")
    await chat.say("halo", update_id="same")  # a replay
    text = await metrics.render()
    got = samples(text)
    assert got[("bpu_updates_total", (("channel", "telegram"), ("outcome", "answered")))] == 4
    assert got[("bpu_updates_total", (("channel", "telegram"), ("outcome", "replay")))] == 1
    assert got[("bpu_answer_seconds_count", (("channel", "telegram"),))] == 4
    assert got[("bpu_nlu_answers_total", (("result", "fallback"),))] >= 1
    assert got[("bpu_nlu_answers_total", (("result", "understood"),))] >= 1
    assert b"3673015508900001" not in text and b"asdfgh" not in text


def test_understood_categories() -> None:
    assert understood("contribution") == "understood"
    assert understood("unsure") == "fallback" and understood("out_of_scope") == "fallback"
    assert understood("[button] t") == "other" and understood("form:nik") == "other" and understood(None) == "other"


async def test_bpu_bot_run_serves_metrics_to_this_machine_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from tests.processes import start, stop, wait_healthy

    proc, base = start(tmp_path)
    await wait_healthy(base, proc)
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for text in ("halo", "berapa iuran minimal?", "qwrtp zxcvb"):
                await client.post("/simulator/api/message", json={"user": "web-metrics", "text": text})
            scraped = await client.get("/metrics")
            assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
            got = samples(scraped.content)
            assert got[("bpu_updates_total", (("channel", "web"), ("outcome", "answered")))] == 3
            assert got[("bpu_answer_seconds_count", (("channel", "web"),))] == 3
            assert ("bpu_outbox_due", (("channel", "telegram"),)) not in got  # nothing queued, nothing made up
            # Through a proxy (uvicorn reads X-Forwarded-For from 127.0.0.1): someone else, refused.
            proxied = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
            assert proxied.status_code == 404
    finally:
        await stop(proc)
