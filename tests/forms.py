"""Filling the lead form in tests: the worker's answers, step by step."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.engine import Engine
from tests.factories import Chat

NIK = "3673015508900001"


async def fill_to_summary(chat: Chat) -> None:
    await chat.say("mau daftar")
    await chat.press("Setuju")
    await chat.say("siti aminah")
    await chat.say(NIK)
    await chat.say("15-08-1990")
    await chat.say("0812-3456-7890")
    await chat.press("Kota Serang")
    await chat.say("kec. taktakan")
    await chat.press("Pedagang")
    await chat.say("1,5 jt")
    await chat.press("2 program")
    await chat.press("Ditelepon")


async def consent_then(chat: Chat, *answers: str) -> None:
    """Start the form, agree, and give `answers` one by one."""
    await chat.say("daftar")
    await chat.press("Setuju")
    for answer in answers:
        await chat.say(answer)


async def count(engine: Engine, model: type) -> int:
    async with engine.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)
