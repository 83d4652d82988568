"""Referrals: a worker invites fellow workers; their leads are attributed to the referrer."""

from __future__ import annotations

from sqlalchemy import select

from bot.dashboard import queries
from handlers import links
from handlers.engine import Engine
from storage.models import Lead
from tests.factories import Chat
from tests.forms import fill_to_summary


def test_referral_codes_cannot_be_forged(cipher) -> None:
    code = links.referral_code(41, cipher)
    assert links.referrer_of(code, cipher) == 41
    assert links.referrer_of(code.replace("ref-15", "ref-16"), cipher) is None
    assert links.referrer_of("ref-15-00000000", cipher) is None and links.referrer_of("PASAR-1", cipher) is None
    assert links.code_in_text(links.whatsapp_text("ref-1-abc")) == "ref-1-abc"


async def test_a_worker_invites_and_the_friends_lead_is_theirs(db, cipher, matcher, clock) -> None:
    engine = Engine(
        db, cipher, matcher, clock=clock, telegram_username="bpu_serang_bot", whatsapp_number="0812-0000-1111"
    )
    ani = Chat(engine, user="ani")
    await ani.press_payload("ref:me")
    assert "setelah kamu meninggalkan data" in ani.text  # no lead yet: no invitation
    await fill_to_summary(ani)
    await ani.press("Kirim")
    await ani.press("Ajak teman")
    assert "https://t.me/bpu_serang_bot?start=ref-" in ani.text and "https://wa.me/6281200001111?text=" in ani.text
    # The invitation to forward is a message of its own, nothing but the invitation.
    thanks, invitation = ani.last
    assert thanks.buttons and not invitation.buttons
    assert invitation.text.startswith("Saya sudah daftar") and "Terima kasih" not in invitation.text
    telegram_code = ani.text.split("start=")[1].split()[0]
    assert links.referrer_of(telegram_code, cipher) is not None

    # A friend on WhatsApp opens the click-to-chat link: the prefilled text carries the code.
    friend = Chat(engine, user="6281311112222", channel="whatsapp")
    await friend.say(links.whatsapp_text(telegram_code))
    await fill_to_summary(friend)
    await friend.press("Kirim")
    async with db.session() as s:
        leads = {lead.contact_id: lead for lead in (await s.scalars(select(Lead))).all()}
        friend_lead = next(lead for lead in leads.values() if lead.channel == "whatsapp")
        assert friend_lead.campaign_code == telegram_code
        assert links.referrer_of(friend_lead.campaign_code, cipher) == next(
            lead.contact_id for lead in leads.values() if lead.channel == "console"
        )
        top = await queries.top_referrers(s, None, cipher)
    assert top == [("3673", "Siti Aminah", 1)]


async def test_own_code_does_not_attribute_to_oneself(engine, cipher) -> None:
    chat = Chat(engine, user="self")
    await chat.say("halo")
    async with engine.db.session() as s:
        from storage.models import Contact

        contact = await s.scalar(select(Contact))
        own = links.referral_code(contact.id, cipher)  # type: ignore[union-attr]
    await chat.send(text=f"/start {own}", start_code=own)
    async with engine.db.session() as s:
        assert (await s.scalar(select(Contact))).campaign_code is None  # type: ignore[union-attr]
