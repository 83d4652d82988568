"""Wiring: settings -> database -> engine -> channels (bot/server.py serves them over HTTP)."""

from __future__ import annotations

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
        staff_identities=registry.staff_identities(),
        user_phones=registry.user_phones(),
        observe=metrics.observe,
    )
    metrics.clock = engine.clock
    return Runtime(settings, db, cipher, engine, metrics=metrics)


def build_channels(runtime: Runtime) -> list[Channel]:
    """The channels that the settings turn on."""
    return registry.enabled(runtime.deps)
