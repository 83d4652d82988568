"""`bpu-bot run`: the runtime, its channels and campaigns, served over HTTP, and the banner it prints.

Kept apart from bot/runtime.py so that the wiring imports no server: the HTTP app and the
dashboard take a Runtime, and nothing they import leads back to them.
"""

from __future__ import annotations

import asyncio

from bot.channels import registry
from bot.runtime import Runtime, build, build_channels
from bot.settings import Settings


def banner(runtime: Runtime, *, needs_first_admin: bool = False) -> str:
    s = runtime.settings
    base = f"http://{s.http_host}:{s.http_port}"
    lines = [
        "bpu-bot is running.",
        f"  database:  {_safe_url(s.database_url)}",
        f"  health:    {base}/healthz",
    ]
    served = {channel.name: channel for channel in runtime.channels}
    for spec in registry.SPECS:
        channel = served.get(spec.name)
        if channel is None and spec.always_on and spec.make is not None:
            channel = spec.make(runtime.deps)  # the simulator: part of the server in any case
        line = channel.describe() if channel is not None else spec.off_hint
        lines.append(f"  {spec.banner_name + ':':<10} {line}")
    lines.append(f"  dashboard: {base}/   (staff log in by name and password)")
    if needs_first_admin:
        from bot.dashboard.session_pages import setup_token

        lines.append("  no staff yet: create the first admin with this one-time link:")
        lines.append(f"    {base}/setup?token={setup_token(s.resolved_secret_key())}")
        lines.append("  or with: bpu-bot staff add --name NAME --role admin --password")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def serve(settings: Settings) -> None:
    import uvicorn

    from bot.http import create_app

    runtime = await asyncio.to_thread(build, settings)
    runtime.channels = build_channels(runtime)
    from bot.delivery.service import Campaigns

    runtime.campaigns = Campaigns.from_deps(runtime.deps)  # after the channels are built
    app = create_app(runtime)
    config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    from bot.dashboard.session_pages import count_admins

    print(banner(runtime, needs_first_admin=await count_admins(runtime.db) == 0), flush=True)
    try:
        await server.serve()
    finally:
        # uvicorn re-raises Ctrl-C after its own shutdown, which cancels this task: finish closing anyway.
        closing = asyncio.ensure_future(runtime.close())
        try:
            await asyncio.shield(closing)
        except asyncio.CancelledError:
            await closing
            raise
