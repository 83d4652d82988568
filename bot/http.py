"""The one HTTP server: health, the web simulator, channel webhooks and the staff dashboard."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import dashboard
from bot.channels.registry import SPECS
from bot.channels.web.channel import PAGE_PATH, content_security_policy
from bot.dashboard.web import SECURITY_HEADERS
from bot.limits import BodyLimit
from bot.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from bot.runtime import Runtime

# Caching rules stay per route (static files may be cached; dashboard pages may not).
HEADERS = {name: value for name, value in SECURITY_HEADERS.items() if name != "Cache-Control"}


def create_app(runtime: Runtime) -> Starlette:
    # The channels `bpu-bot run` built, and those that are part of the server whatever the
    # settings (the web simulator), for an app built without them (tests, benchmarks).
    channels = list(runtime.channels)
    served = {channel.name for channel in channels}
    channels += [s.make(runtime.deps) for s in SPECS if s.always_on and s.make and s.name not in served]

    async def healthz(_: Request) -> Response:
        try:
            await runtime.db.ping()
            database = "ok"
        except Exception as exc:  # the point of a health check is to report, not to raise
            database = f"error: {type(exc).__name__}"
        # The platforms that reach a worker's phone: on or off by the settings.
        platforms = {spec.name: "off" for spec in SPECS if spec.bulk}
        platforms.update({channel.name: "on" for channel in runtime.channels if channel.name in platforms})
        body: dict[str, object] = {"database": database, "channels": platforms}
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

    async def metrics(request: Request) -> Response:
        # For a scraper on this machine (each process is scraped on its own port); nginx does not
        # pass /metrics on (deploy/nginx.conf), and uvicorn gives a proxied request its real client.
        client = request.client.host if request.client else ""
        if runtime.metrics is None or client not in ("127.0.0.1", "::1"):
            return Response("not found", status_code=404, media_type="text/plain")
        if runtime.campaigns is not None and runtime.campaigns.worker is not None:
            worker = runtime.campaigns.worker
            runtime.metrics.watch_sends(lambda: worker.stats)
        return Response(await runtime.metrics.render(), media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/metrics", metrics)]
    for channel in channels:
        routes.extend(channel.routes())
    routes.extend(dashboard.routes(runtime))  # "/" is the dashboard (login required)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for channel in channels:
            await channel.start()
        if runtime.campaigns is not None:
            await runtime.campaigns.start()
        try:
            yield
        finally:
            if runtime.campaigns is not None:
                await runtime.campaigns.stop()
            for channel in channels:
                await channel.stop()

    # Outermost first: a 413 from BodyLimit carries the security headers too.
    middleware = [Middleware(SecurityHeaders), Middleware(BodyLimit)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


class SecurityHeaders:
    """The dashboard's security headers on every response of the server (health, simulator,
    webhooks too); a route that set its own keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.simulator_policy = content_security_policy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = dict(HEADERS)
        if scope["path"] == PAGE_PATH:
            wanted["Content-Security-Policy"] = self.simulator_policy

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
