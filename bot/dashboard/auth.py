"""Who is asking: signed session cookies, argon2 passwords, and the throttle on failed logins.

The session cookie (itsdangerous, signed with the server's secret key) holds the staff id, a
fingerprint of their password hash and session epoch, the CSRF token and the language. Every
request reloads the staff member and their epoch: logging out, deactivation and a changed
password move the epoch on (`end_sessions`), which voids every cookie of the account at once.

Failed logins are throttled per (name, client address) and per address: an outsider guessing
at the admin's name slows only themselves, and the admin still logs in from their own desk.
Checking the throttle and recording the attempt is one step (`begin_attempt`), so a hundred
guesses sent at once get no more than the limit checked. Password hashing runs off the event
loop (bot.offload), so a flood of logins never holds the bot's replies.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload
from starlette.requests import Request
from starlette.responses import Response

from bot.dashboard import csrf
from bot.offload import run_blocking
from storage import repositories as repo
from storage.clock import as_utc
from storage.dashboard_models import LoginFailure, SessionEpoch
from storage.db import Database
from storage.models import Staff

COOKIE = "bpu_session"
MAX_AGE = 12 * 3600
MAX_FAILURES = 5  # per name from one address
MAX_ADDRESS_FAILURES = 20  # per address, whatever names it tries
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


async def hashed(password: str) -> str:
    """`hash_password` off the event loop."""
    return await run_blocking(hash_password, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    """`verify_password` off the event loop."""
    return await run_blocking(verify_password, password_hash, password)


def fingerprint(staff: Staff, epoch: int = 0) -> str:
    return hashlib.sha256(f"{staff.password_hash or ''}\n{epoch}".encode()).hexdigest()[:16]


name_key = repo.staff_name_key  # the name as logins compare it, in any case and spacing


def client_address(request: Request) -> str:
    """Who sends the request, as the throttle counts them. An IPv6 client owns a whole /64,
    so the /64 is what counts. Behind a reverse proxy on this host, uvicorn takes the address
    from X-Forwarded-For (its default trusts 127.0.0.1 only)."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


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


def logged_in(data: SessionData, staff: Staff, epoch: int) -> SessionData:
    """A fresh CSRF token on login, so a token seen before login is worth nothing after."""
    return replace(data, staff_id=staff.id, fingerprint=fingerprint(staff, epoch), csrf=csrf.new_token())


def logged_out(data: SessionData) -> SessionData:
    return SessionData(csrf=csrf.new_token(), lang=data.lang)


async def session_epoch(session: AsyncSession, staff_id: int) -> int:
    epoch = await session.scalar(select(SessionEpoch.epoch).where(SessionEpoch.staff_id == staff_id))
    return int(epoch or 0)


async def end_sessions(session: AsyncSession, staff_id: int) -> None:
    """Void every session cookie of this account, wherever it was copied to."""
    moved = await session.execute(
        update(SessionEpoch).where(SessionEpoch.staff_id == staff_id).values(epoch=SessionEpoch.epoch + 1)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        session.add(SessionEpoch(staff_id=staff_id, epoch=1))
        await session.flush()


async def current_staff(session: AsyncSession, data: SessionData) -> Staff | None:
    if data.staff_id is None:
        return None
    row = (
        await session.execute(
            select(Staff, SessionEpoch.epoch)
            .outerjoin(SessionEpoch, SessionEpoch.staff_id == Staff.id)
            .where(Staff.id == data.staff_id)
        )
    ).first()
    if row is None:
        return None
    staff, epoch = row
    if not staff.active or not staff.password_hash or fingerprint(staff, epoch or 0) != data.fingerprint:
        return None
    return staff


async def locked_until(
    session: AsyncSession,
    key: str | None,
    now: datetime,
    *,
    address: str | None = None,
    limit: int = MAX_FAILURES,
    besides: int | None = None,
) -> datetime | None:
    """The end of the lock-out when `limit` failures fell within 15 minutes and the last was < 15
    minutes ago; counted for the name `key`, the `address`, or the pair when both are given
    (None: any); the attempt `besides` is not counted."""
    query = select(LoginFailure.at).where(LoginFailure.at >= now - WINDOW - LOCKOUT)
    if key is not None:
        query = query.where(LoginFailure.name_key == key)
    if address is not None:
        query = query.where(LoginFailure.address == address)
    if besides is not None:
        query = query.where(LoginFailure.id != besides)
    times = [as_utc(at) for at in await session.scalars(query.order_by(LoginFailure.at))]
    return _lock_end(times, now, limit)


def _lock_end(times: list[datetime], now: datetime, limit: int) -> datetime | None:
    """The end of the lock-out that these failure times (in order) impose at `now`, if any."""
    for i in range(len(times) - 1, limit - 2, -1):
        last = times[i]
        if last + LOCKOUT <= now:
            break
        if last - times[i - limit + 1] <= WINDOW:
            return last + LOCKOUT
    return None


async def locked_names(session: AsyncSession, now: datetime | None = None) -> set[str]:
    """The login names (`name_key`) locked out now from some address: what an admin's unlock is for."""
    now = now or datetime.now(UTC)
    rows = await session.execute(
        select(LoginFailure.name_key, LoginFailure.address, LoginFailure.at)
        .where(LoginFailure.at >= now - WINDOW - LOCKOUT)
        .order_by(LoginFailure.at)
    )
    times: dict[tuple[str, str], list[datetime]] = {}
    for key, address, at in rows:
        times.setdefault((key, address), []).append(as_utc(at))
    return {key for (key, _), seen in times.items() if _lock_end(seen, now, MAX_FAILURES) is not None}


async def record_failure(session: AsyncSession, key: str, now: datetime, address: str = "") -> int:
    failure = LoginFailure(name_key=key, address=address, at=now)
    session.add(failure)
    # Old rows are of no use: keep the table small.
    await session.execute(delete(LoginFailure).where(LoginFailure.at < now - WINDOW - LOCKOUT))
    await session.flush()
    return failure.id


async def begin_attempt(db: Database, key: str, address: str, now: datetime) -> int | None:
    """Count this login as a failure until it succeeds; its id, or None when it may not be checked.

    The attempt is committed before the throttle is read, in a second transaction: whichever of
    many simultaneous guesses reads last sees all the others, so no more than the limit are let
    through to the password check (read-then-write in one transaction would let them all pass).
    """
    async with db.session() as session:
        attempt = await record_failure(session, key, now, address)
    async with db.session() as session:
        locked = await locked_until(session, key, now, address=address, besides=attempt)
        if locked is None:
            locked = await locked_until(
                session, None, now, address=address, limit=MAX_ADDRESS_FAILURES, besides=attempt
            )
        if locked is not None:
            # A refused attempt is no failure: it must not extend the lock-out it met.
            await session.execute(delete(LoginFailure).where(LoginFailure.id == attempt))
            return None
    return attempt


async def clear_failures(session: AsyncSession, key: str, address: str | None = None) -> None:
    """Forget the failures of a name: from one address (a right password from there), or from
    all (`address` None: an admin's unlock, a password reset)."""
    query = delete(LoginFailure).where(LoginFailure.name_key == key)
    if address is not None:
        query = query.where(LoginFailure.address == address)
    await session.execute(query)


async def name_taken(session: AsyncSession, name: str) -> bool:
    """Whether a staff member (active or not) has this name in any case: two would share one
    login name, and neither could log in."""
    return await repo.staff_named(session, name) is not None


async def staff_by_login_name(session: AsyncSession, name: str) -> Staff | None:
    """The active staff member with a password and this name, in any case; None when unknown or ambiguous."""
    key = name_key(name)
    if not key:
        return None
    # Compared in Python: SQLite's lower() folds ASCII only, and staff are a few hundred rows.
    rows = await session.scalars(
        select(Staff)
        .where(Staff.active.is_(True), Staff.password_hash.is_not(None))
        .options(lazyload(Staff.areas))
        .order_by(Staff.id)
    )
    found = [staff for staff in rows if name_key(staff.name) == key]
    return found[0] if len(found) == 1 else None
