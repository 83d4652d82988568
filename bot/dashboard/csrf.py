"""CSRF: one random token per browser session, in a hidden field of every form.

The token lives in the signed session cookie; a POST whose field does not match it is
refused before anything else happens (secrets.compare_digest, constant time).
"""

from __future__ import annotations

import secrets

FIELD = "csrf"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def valid(expected: str | None, submitted: object) -> bool:
    if not expected or not isinstance(submitted, str) or not submitted:
        return False
    return secrets.compare_digest(expected.encode(), submitted.encode())
