"""Segments of several areas and of those who said they will come; the campaign link each channel's message carries."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from content.render import Renderer
from handlers import broadcasts
from storage.campaign_models import Broadcast, RsvpAnswer
from storage.models import Contact

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
CHANNELS = ("telegram", "whatsapp")


def test_several_areas_as_a_comma_list_and_the_cli_form_still_works() -> None:
    assert broadcasts.parse_segment("area=3673") == {"area": "3673"}
    assert broadcasts.parse_segment("area=3673,360205,occupation=transport") == {
        "area": "3673,360205",
        "occupation": "transport",
    }
    assert broadcasts.parse_segment("status=new,area=3673,area=3602,3673") == {"status": "new", "area": "3673,3602"}
    assert broadcasts.segment_areas({"area": "3673,360205"}) == ["3673", "360205"]
    with pytest.raises(broadcasts.SegmentError):
        broadcasts.parse_segment("area=3673,36")
    with pytest.raises(broadcasts.SegmentError):
        broadcasts.parse_segment("occupation=transport,3673")  # a bare code continues an area list only


def test_rsvp_segment() -> None:
    assert broadcasts.parse_segment("rsvp=12:yes") == {"rsvp": "12:yes"}
    assert broadcasts.parse_segment("rsvp=12") == {"rsvp": "12:yes"}
    assert broadcasts.rsvp_of({"rsvp": "12:yes"}) == (12, "yes")
    for bad in ("rsvp=x:yes", "rsvp=3:maybe"):
        with pytest.raises(broadcasts.SegmentError):
            broadcasts.parse_segment(bad)


async def _contact(session, external_id: str, region: str | None, channel: str = "telegram") -> int:  # type: ignore[no-untyped-def]
    c = Contact(channel=channel, external_id=external_id, language="id", region_code=region)
    session.add(c)
    await session.flush()
    return c.id


async def test_recipients_of_several_areas_and_of_an_rsvp(db) -> None:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        kasemen = await _contact(session, "1", "367302")  # Kota Serang
        muncang = await _contact(session, "2", "360205")  # Kab. Lebak
        await _contact(session, "3", "360101")  # Pandeglang: in neither
        first = await broadcasts.create(
            session, created_by="test", segment={}, channels=CHANNELS, template=None, text="Acara", rsvp=True, now=NOW
        )
        session.add(RsvpAnswer(broadcast_id=first.id, contact_id=muncang, answer="yes"))
        session.add(RsvpAnswer(broadcast_id=first.id, contact_id=kasemen, answer="no"))
        await session.flush()

        async def who(text: str) -> set[int]:
            cond = broadcasts.recipients_condition(broadcasts.parse_segment(text), CHANNELS)
            return set((await session.scalars(select(Contact.id).where(cond))).all())

        assert await who("area=3673,360205") == {kasemen, muncang}
        assert await who("area=3673") == {kasemen}
        assert await who(f"rsvp={first.id}:yes") == {muncang}
        assert await who(f"rsvp={first.id}:no,area=3673") == {kasemen}


async def test_each_channel_carries_its_campaign_link(db) -> None:  # type: ignore[no-untyped-def]
    renderer = Renderer()
    async with db.session() as session:
        b = await broadcasts.create(
            session, created_by="test", segment={}, channels=CHANNELS, template=None, text="Sosialisasi besok.",
            now=NOW, campaign_code="SOS-DES", telegram_username="@bpu_serang_bot", whatsapp_number="0812-0000-1111",
        )  # fmt: skip
        plain = await broadcasts.create(
            session, created_by="test", segment={}, channels=CHANNELS, template=None, text="Tanpa kode.", now=NOW,
            telegram_username="bpu_serang_bot",
        )  # fmt: skip
        await session.flush()
        stored = await session.get(Broadcast, b.id)
        assert stored is not None and stored.links == {
            "telegram": "https://t.me/bpu_serang_bot?start=SOS-DES",
            "whatsapp": "https://wa.me/6281200001111?text=" + stored.links["whatsapp"].split("?text=")[1],
        }
        assert unquote(stored.links["whatsapp"]).endswith("Kode: SOS-DES")
        assert plain.campaign_code == f"kampanye-{plain.id}"
        assert plain.links == {"telegram": f"https://t.me/bpu_serang_bot?start=kampanye-{plain.id}"}
    tg = broadcasts.render_broadcast(renderer, b, "id", channel="telegram")[0]
    wa = broadcasts.render_broadcast(renderer, b, "en", channel="whatsapp")[0]
    assert tg == "Sosialisasi besok.\n\nInfo & daftar: https://t.me/bpu_serang_bot?start=SOS-DES"
    assert wa.startswith("Sosialisasi besok.\n\nInfo & sign up: https://wa.me/6281200001111?text=")
    assert broadcasts.render_broadcast(renderer, b, "id")[0] == "Sosialisasi besok."  # no channel: no link
    assert "wa.me" not in broadcasts.render_broadcast(renderer, plain, "id", channel="whatsapp")[0]
