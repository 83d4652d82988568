"""Wiring: settings -> database -> engine -> channels -> HTTP server."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.channels import registry
from bot.channels.base import Channel, ChannelDeps
from bot.metrics import Metrics
from bot.settings import Settings
from handlers.engine import Engine
from handlers.nlu import IntentMatcher, load_matcher
from storage.clock import utcnow
from storage.crypto import FieldCipher
from storage.db import Database
from storage.migrate import upgrade

if TYPE_CHECKING:
    from bot.delivery.service import Campaigns

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    cipher: FieldCipher
    engine: Engine
    channels: list[Channel] = field(default_factory=list)
    campaigns: Campaigns | None = None  # outbox worker and scheduler, started with the HTTP server
    metrics: Metrics | None = None  # what /metrics reports; the engine tells it of every update

    @property
    def deps(self) -> ChannelDeps:
        """What channels and bulk senders are built from (they never see the Runtime)."""
        return ChannelDeps(self.settings, self.db, self.cipher, self.engine)

    async def close(self) -> None:
        for channel in self.channels:
            await channel.stop()
        await self.db.dispose()


def build(settings: Settings, *, matcher: IntentMatcher | None = None, migrate: bool = True) -> Runtime:
    """Everything but the channels; safe to call outside an event loop (migrations run here)."""
    if migrate:
        upgrade(settings.database_url)
    db = Database(settings.database_url)
    cipher = FieldCipher(settings.resolved_secret_key())
    metrics = Metrics(db, utcnow)
    engine = Engine(
        db,
        cipher,
        matcher or load_matcher(),
        timezone=settings.timezone,
        office_hours=settings.office_hours,
        telegram_username=settings.telegram_bot_username,
        whatsapp_number=settings.whatsapp_display_number,
        reminder_days_before=settings.reminder_days_before,
        reminder_hour=settings.reminder_hour,
        whatsapp_daily_limit=settings.whatsapp_daily_limit,
        broadcast_channels=registry.bulk_names(),
        observe=metrics.observe,
    )
    metrics.clock = engine.clock
    return Runtime(settings, db, cipher, engine, metrics=metrics)


def build_channels(runtime: Runtime) -> list[Channel]:
    """The channels that the settings turn on."""
    return registry.enabled(runtime.deps)


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
