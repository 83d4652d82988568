"""Field encryption for the NIK, and the keyed hash that finds duplicates without decrypting.

Both keys are derived from `BPU_SECRET_KEY` with HKDF, so one secret to keep, and
the hash cannot be reversed by trying all 10^16 NIKs without it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"bpu-bot", info=purpose).derive(secret.encode())


class FieldCipher:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("secret key is empty")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"field-encryption")))
        self._mac_key = _derive(secret, b"field-hash")

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(token).decode()

    def keyed_hash(self, value: str) -> str:
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()

    def tail_hash(self, digits: str) -> str:
        """The keyed hash of a NIK's last 4 digits (or of 4 digits typed in a search): equal
        tails give equal hashes, and without the key the 10^4 tails cannot be tried."""
        return self.keyed_hash("nik-tail:" + digits[-4:])
