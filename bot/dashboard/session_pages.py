"""Log in, log out, switch language, and the first-admin setup on an empty database."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from sqlalchemy import func, select
from starlette.responses import Response

from bot.dashboard import auth
from bot.dashboard.web import Ctx, Dashboard, safe_next, switch_language
from storage import repositories as repo
from storage.db import Database
from storage.models import Staff


def setup_token(secret: str) -> str:
    """The one-time setup link's token: derived from the secret key, so only the server's owner sees it."""
    return hmac.new(secret.encode(), b"bpu-dashboard-first-admin", hashlib.sha256).hexdigest()[:32]


async def needs_first_admin(dash: Dashboard) -> bool:
    async with dash.runtime.db.session() as session:
        admins = await session.scalar(
            select(func.count())
            .select_from(Staff)
            .where(Staff.role == "admin", Staff.active.is_(True), Staff.password_hash.is_not(None))
        )
    return not admins


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    async def login(ctx: Ctx) -> Response:
        next_url = safe_next(ctx.request.query_params.get("next") or ctx.field("next"))
        if ctx.request.method == "GET":
            if ctx.staff is not None:
                return ctx.redirect(next_url)
            return ctx.render("login.html", next_url=next_url, error=None, name="")
        name = ctx.field("name")[:120]
        password = ctx.field("password")[:1000]
        key = auth.name_key(name)
        address = auth.client_address(ctx.request)
        db = dash.runtime.db
        attempt = await auth.begin_attempt(db, key, address, datetime.now(UTC))
        staff = None
        if attempt is None:
            async with db.session() as session:
                await repo.audit(session, "anonymous", "login_locked", name=name, address=address)
        else:
            async with db.session() as session:
                found = await auth.staff_by_login_name(session, name)
            # No database connection is held while argon2 works (off the loop): a flood of logins
            # must not take the connections the bot answers with.
            matches = await auth.password_matches(found.password_hash if found else None, password)
            if matches and found is not None:
                async with db.session() as session:
                    await auth.clear_failures(session, key, address)
                    epoch = await auth.session_epoch(session, found.id)
                    await repo.audit(session, f"staff:{found.id}", "login")
                staff = found
            else:
                async with db.session() as session:
                    await repo.audit(session, "anonymous", "login_failed", name=name, address=address)
        if staff is None:
            error = ctx.t("login_locked" if attempt is None else "login_failed")
            status = 429 if attempt is None else 401
            return ctx.render("login.html", status_code=status, next_url=next_url, error=error, name=name)
        ctx.set_session(auth.logged_in(ctx.data, staff, epoch))
        return ctx.redirect(next_url)

    async def logout(ctx: Ctx) -> Response:
        async with dash.runtime.db.session() as session:
            if ctx.staff is not None:
                # Every session of the account ends, not only this browser's: a copied cookie
                # must not outlive the logout.
                await auth.end_sessions(session, ctx.staff.id)
            await repo.audit(session, ctx.actor, "logout")
        ctx.set_session(auth.logged_out(ctx.data))
        return ctx.redirect("/login")

    async def language(ctx: Ctx) -> Response:
        switch_language(ctx, ctx.request.query_params.get("to", ""))
        return ctx.redirect(safe_next(ctx.request.query_params.get("next")))

    async def setup(ctx: Ctx) -> Response:
        secret = dash.runtime.settings.resolved_secret_key()
        token = ctx.request.query_params.get("token") or ctx.field("token")
        if not hmac.compare_digest(token.encode(), setup_token(secret).encode()):
            return ctx.error(404, "not_found")
        if not await needs_first_admin(dash):
            return ctx.render("error.html", status_code=409, message=ctx.t("setup_done"))
        if ctx.request.method == "GET":
            return ctx.render("setup.html", token=token, error=None, name="")
        name = " ".join(ctx.field("name").split())[:120]
        password = ctx.field("password")
        if len(name) < 2:
            return ctx.render(
                "setup.html", status_code=400, token=token, error=ctx.t("error_field", field=ctx.t("name")), name=name
            )
        if len(password) < auth.MIN_PASSWORD:
            return ctx.render("setup.html", status_code=400, token=token, error=ctx.t("password_short"), name=name)
        password_hash = await auth.hashed(password)
        async with dash.runtime.db.session() as session:
            staff = await repo.add_staff(session, name=name, role="admin", password_hash=password_hash)
            await repo.audit(session, "setup", "staff_added", staff_id=staff.id, role="admin", via="setup_link")
        ctx.set_session(auth.logged_in(ctx.data, staff, 0))
        return ctx.redirect("/")

    return [
        dash.route("/login", login, roles=None, methods=("GET", "POST")),
        dash.route("/logout", logout, methods=("POST",)),
        dash.route("/lang", language, roles=None),
        dash.route("/setup", setup, roles=None, methods=("GET", "POST")),
    ]


async def count_admins(db: Database) -> int:
    """Active admins with a password (none: the start-up banner offers the one-time setup link)."""
    async with db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Staff)
            .where(Staff.role == "admin", Staff.active.is_(True), Staff.password_hash.is_not(None))
        )
    return int(count or 0)
