"""Campaign and referral codes, and the links that carry them into a chat.

A Telegram deep link carries the code as `/start CODE`; a WhatsApp click-to-chat link
opens the chat with a prefilled text that ends with `Kode: CODE`, which the engine reads.
A worker's referral code names them without exposing anything: `ref-<id>-<tag>`, where
the tag is a keyed hash, so codes cannot be guessed or forged to claim another's referrals.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from handlers.validators import indonesian_digits
from storage.crypto import FieldCipher

CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_IN_TEXT = re.compile(r"\bkode\s*:\s*([A-Za-z0-9_-]{1,64})\s*$", re.I)
_REFERRAL = re.compile(r"^ref-([0-9a-z]+)-([0-9a-f]{8})$")


def valid_code(code: str) -> bool:
    return bool(CODE.match(code))


def whatsapp_text(code: str) -> str:
    """The message a worker's WhatsApp opens with; the bot reads the code from it."""
    return f"Halo, saya mau tahu tentang BPJS Ketenagakerjaan BPU. Kode: {code}"


def start_code(text: str | None) -> str | None:
    """The code in `/start CODE`: what a Telegram deep link sends, and what the web simulator
    and `bpu-bot chat` accept typed; None for any other text or an invalid code."""
    word, _, rest = (text or "").strip().partition(" ")
    code = rest.strip()
    return code if word.lower() == "/start" and valid_code(code) else None


def code_in_text(text: str | None) -> str | None:
    match = _IN_TEXT.search(text or "")
    return match.group(1) if match else None


def telegram_link(username: str | None, code: str) -> str | None:
    if not username:
        return None
    return f"https://t.me/{username.lstrip('@').strip()}?start={code}"


def whatsapp_link(number: str | None, code: str) -> str | None:
    digits = indonesian_digits(number or "")
    if not digits:
        return None
    return f"https://wa.me/{digits}?text={quote(whatsapp_text(code), safe='')}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def referral_code(contact_id: int, cipher: FieldCipher) -> str:
    return f"ref-{_base36(contact_id)}-{cipher.keyed_hash(f'referral:{contact_id}')[:8]}"


def referrer_of(code: str | None, cipher: FieldCipher) -> int | None:
    """The contact id behind a referral code, or None for any other (or a forged) code."""
    match = _REFERRAL.match(code or "")
    if not match:
        return None
    contact_id = int(match.group(1), 36)
    return contact_id if referral_code(contact_id, cipher) == code else None
