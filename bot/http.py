"""The one HTTP server: health, the web simulator, channel webhooks and the staff dashboard."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import dashboard
from bot.dashboard.web import SECURITY_HEADERS
from bot.limits import BodyLimit
from bot.safe_json import BadJSON, read_object
from handlers import links
from handlers.messages import IncomingMessage, Kind
from storage.models import Contact

if TYPE_CHECKING:
    from bot.runtime import Runtime

WEB = Path(__file__).parent / "web"
SIMULATOR = "web"  # the simulator's channel name (IncomingMessage.channel, contacts.channel)
# Caching rules stay per route (static files may be cached; dashboard pages may not).
HEADERS = {name: value for name, value in SECURITY_HEADERS.items() if name != "Cache-Control"}


def create_app(runtime: Runtime) -> Starlette:
    async def healthz(_: Request) -> Response:
        try:
            await runtime.db.ping()
            database = "ok"
        except Exception as exc:  # the point of a health check is to report, not to raise
            database = f"error: {type(exc).__name__}"
        channels = {name: "off" for name in ("telegram", "whatsapp")}
        channels.update({channel.name: "on" for channel in runtime.channels})
        body: dict[str, object] = {"database": database, "channels": channels}
        problems = [] if database == "ok" else [f"database: {database}"]
        if runtime.campaigns is not None:
            campaigns = await runtime.campaigns.health()
            problems += campaigns.pop("problems")
            body.update(campaigns)
        else:
            body.update(outbox=None, lanes={}, scheduler="off")
        # A failing delivery lane is a reason to page someone, as a database outage is.
        body = {"status": "ok" if not problems else "degraded", "problems": problems, **body}
        return JSONResponse(body, status_code=200 if not problems else 503)

    async def simulator(_: Request) -> Response:
        return HTMLResponse((WEB / "simulator.html").read_text(encoding="utf-8"))

    async def simulator_message(request: Request) -> Response:
        try:
            body = read_object(await request.body())  # its size is bounded by bot/limits.py
            user = str(body["user"])[:64]
        except BadJSON as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except KeyError:
            expected = "expected JSON with 'user' and 'text' or 'payload'"
            return JSONResponse({"error": expected}, status_code=400)
        if not user:
            return JSONResponse({"error": "'user' is empty"}, status_code=400)
        payload = body.get("payload")
        text = str(body.get("text") or "")
        msg = IncomingMessage(
            channel=SIMULATOR,
            user_id=user,
            text=text,
            payload=str(payload) if payload else None,
            kind=Kind.BUTTON if payload else Kind.TEXT,
            update_id=str(body["id"])[:64] if body.get("id") else None,
            language_hint=body.get("lang") if body.get("lang") in ("id", "en") else None,
            start_code=None if payload else links.start_code(text),  # `/start CODE`, as a Telegram deep link
        )
        replies = await runtime.engine.handle(msg)
        answer: dict[str, object] = {
            "replies": [
                {
                    "text": r.text,
                    "buttons": [{"label": b.label, "payload": b.payload} for b in r.buttons],
                    "request_phone": r.request_phone,
                }
                for r in replies
            ]
        }
        # The page's ID / EN switch shows the conversation's language however it was changed (the
        # switch, a typed "english"); null: the worker's data was just deleted, and the page forgets
        # its copy too. Left out when the database cannot say (the replies are an apology then).
        with contextlib.suppress(SQLAlchemyError, OSError):
            async with runtime.db.session() as session:
                language = await session.scalar(
                    select(Contact.language).where(Contact.channel == SIMULATOR, Contact.external_id == user)
                )
            answer["lang"] = language
        return JSONResponse(answer)

    async def new_user(_: Request) -> Response:
        return JSONResponse({"user": "web-" + secrets.token_hex(8)})

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/simulator", simulator),
        Route("/simulator/api/message", simulator_message, methods=["POST"]),
        Route("/simulator/api/user", new_user, methods=["POST"]),
    ]
    for channel in runtime.channels:
        routes.extend(channel.routes())
    routes.extend(dashboard.routes(runtime))  # "/" is the dashboard (login required)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for channel in runtime.channels:
            await channel.start()
        if runtime.campaigns is not None:
            await runtime.campaigns.start()
        try:
            yield
        finally:
            if runtime.campaigns is not None:
                await runtime.campaigns.stop()
            for channel in runtime.channels:
                await channel.stop()

    # Outermost first: a 413 from BodyLimit carries the security headers too.
    middleware = [Middleware(SecurityHeaders), Middleware(BodyLimit)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


def _inline_hashes(html: str, tag: str) -> str:
    import base64
    import hashlib
    import re

    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
    digests = (base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() for body in bodies)
    return " ".join(f"'sha256-{digest}'" for digest in digests)


def _simulator_policy() -> str:
    # The simulator is one self-contained page; its inline script and style are allowed by their
    # hashes, so any other inline code (an injected one) still does not run.
    html = (WEB / "simulator.html").read_text(encoding="utf-8")
    return (
        f"default-src 'self'; script-src 'self' {_inline_hashes(html, 'script')}; "
        f"style-src 'self' {_inline_hashes(html, 'style')}; connect-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
    )


class SecurityHeaders:
    """The dashboard's security headers on every response of the server (health, simulator,
    webhooks too); a route that set its own keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.simulator_policy = _simulator_policy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = dict(HEADERS)
        if scope["path"] == "/simulator":
            wanted["Content-Security-Policy"] = self.simulator_policy

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
