"""Changing BPU_SECRET_KEY without losing what it protects.

The key encrypts each lead's NIK (and derives the keyed hash that finds a NIK twice), a NIK
typed into a form not yet finished, and webhook bodies waiting in the inbox. `rotate` reads each
with the old key and writes it with the new one, in one transaction: it either all moves or
nothing does. A value the new key already reads is left alone, so running it again after an
interruption is safe.

Referral codes are signed with the key too (handlers/links.py); codes handed out before the
rotation stop naming their referrer. Dashboard sessions end (they are signed with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import FieldCipher
from storage.models import ConversationState, Lead
from storage.outbound import WebhookInbox

BATCH = 500


class RotationError(ValueError):
    """A stored value neither key can read: nothing was changed."""


@dataclass
class Rotated:
    leads: int = 0
    forms: int = 0
    inbox: int = 0
    already: int = 0  # values the new key already read (an earlier, interrupted run)

    def __str__(self) -> str:
        return (f"{self.leads} NIKs of leads, {self.forms} NIKs in unfinished forms, {self.inbox} inbox bodies "
                f"re-encrypted; {self.already} were already under the new key")  # fmt: skip


def _reencrypt(token: bytes, old: FieldCipher, new: FieldCipher, what: str) -> tuple[bytes | None, str]:
    """(the value under the new key, or None when it already is; the clear text)."""
    try:
        return None, new.decrypt(token)
    except InvalidToken:
        pass
    try:
        clear = old.decrypt(token)
    except InvalidToken:
        raise RotationError(f"{what}: neither the old key nor the new one reads it") from None
    return new.encrypt(clear), clear


async def rotate(session: AsyncSession, old: FieldCipher, new: FieldCipher) -> Rotated:
    done = Rotated()
    last = 0
    while True:
        leads = (await session.scalars(select(Lead).where(Lead.id > last).order_by(Lead.id).limit(BATCH))).all()
        if not leads:
            break
        for lead in leads:
            token, nik = _reencrypt(lead.nik_encrypted, old, new, f"lead {lead.id}")
            if token is None:
                done.already += 1
                continue
            lead.nik_encrypted = token
            lead.nik_hash = new.keyed_hash(nik)
            lead.nik_tail_hash = new.tail_hash(nik)
            done.leads += 1
        last = leads[-1].id
        await session.flush()
    for state in (await session.scalars(select(ConversationState))).all():
        form: dict[str, Any] = dict((state.data or {}).get("form") or {})
        if not form.get("nik"):
            continue
        token, _ = _reencrypt(str(form["nik"]).encode(), old, new, f"form of contact {state.contact_id}")
        if token is None:
            done.already += 1
            continue
        state.data = {**state.data, "form": {**form, "nik": token.decode()}}
        done.forms += 1
    for inbox_id, body in (await session.execute(select(WebhookInbox.id, WebhookInbox.body))).all():
        token, _ = _reencrypt(body, old, new, f"inbox row {inbox_id}")
        if token is None:
            done.already += 1
            continue
        await session.execute(update(WebhookInbox).where(WebhookInbox.id == inbox_id).values(body=token))
        done.inbox += 1
    return done
