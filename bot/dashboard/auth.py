"""Who is asking: signed session cookies, argon2 passwords, and the lock-out after failed logins.

The session cookie (itsdangerous, signed with the server's secret key) holds the staff id, a
fingerprint of their password hash, the CSRF token and the language. Every request reloads the
staff member: a deactivated account or a changed password ends its sessions at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from bot.dashboard import csrf
from storage.dashboard_models import LoginFailure
from storage.models import Staff

COOKIE = "bpu_session"
MAX_AGE = 12 * 3600
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0000")


@dataclass(frozen=True, slots=True)
class SessionData:
    csrf: str
    lang: str = "id"
    staff_id: int | None = None
    fingerprint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def fingerprint(staff: Staff) -> str:
    return hashlib.sha256((staff.password_hash or "").encode()).hexdigest()[:16]


def name_key(name: str) -> str:
    return " ".join(name.split()).lower()[:120]


class SessionCodec:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="bpu-dashboard-session")

    def load(self, request: Request) -> SessionData:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self._serializer.loads(raw, max_age=MAX_AGE)
                return SessionData(
                    csrf=str(data["c"]),
                    lang=data.get("l") if data.get("l") in ("id", "en") else "id",
                    staff_id=int(data["s"]) if data.get("s") is not None else None,
                    fingerprint=data.get("f"),
                )
            except (BadSignature, KeyError, TypeError, ValueError):
                pass
        return SessionData(csrf=csrf.new_token())

    def store(self, response: Response, request: Request, data: SessionData) -> None:
        value = self._serializer.dumps({"c": data.csrf, "l": data.lang, "s": data.staff_id, "f": data.fingerprint})
        response.set_cookie(
            COOKIE,
            value,
            max_age=MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )


def logged_in(data: SessionData, staff: Staff) -> SessionData:
    """A fresh CSRF token on login, so a token seen before login is worth nothing after."""
    return replace(data, staff_id=staff.id, fingerprint=fingerprint(staff), csrf=csrf.new_token())


def logged_out(data: SessionData) -> SessionData:
    return SessionData(csrf=csrf.new_token(), lang=data.lang)


async def current_staff(session: AsyncSession, data: SessionData) -> Staff | None:
    if data.staff_id is None:
        return None
    staff = await session.get(Staff, data.staff_id)
    if staff is None or not staff.active or not staff.password_hash or fingerprint(staff) != data.fingerprint:
        return None
    return staff


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def locked_until(session: AsyncSession, key: str, now: datetime) -> datetime | None:
    """The end of the lock-out when 5 failures fell within 15 minutes and the last was < 15 minutes ago."""
    rows = await session.scalars(
        select(LoginFailure.at)
        .where(LoginFailure.name_key == key, LoginFailure.at >= now - WINDOW - LOCKOUT)
        .order_by(LoginFailure.at)
    )
    times = [_utc(at) for at in rows]
    for i in range(len(times) - 1, MAX_FAILURES - 2, -1):
        last = times[i]
        if last + LOCKOUT <= now:
            break
        if last - times[i - MAX_FAILURES + 1] <= WINDOW:
            return last + LOCKOUT
    return None


async def record_failure(session: AsyncSession, key: str, now: datetime) -> None:
    session.add(LoginFailure(name_key=key, at=now))
    # Old rows are of no use: keep the table small.
    await session.execute(
        delete(LoginFailure).where(LoginFailure.name_key == key, LoginFailure.at < now - WINDOW - LOCKOUT)
    )


async def clear_failures(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.name_key == key))


async def staff_by_login_name(session: AsyncSession, name: str) -> Staff | None:
    """The active staff member with a password and this name; None when unknown or ambiguous."""
    cleaned = " ".join(name.split())
    if not cleaned:
        return None
    rows = await session.scalars(
        select(Staff).where(Staff.name == cleaned, Staff.active.is_(True), Staff.password_hash.is_not(None))
        .order_by(Staff.id).limit(2)
    )
    found = rows.all()
    return found[0] if len(found) == 1 else None
