"""Campaigns in `bpu-bot run`: the delivery worker and the scheduler, built from the settings.

    campaigns = Campaigns.from_runtime(runtime)   # after the channels are built
    await campaigns.start()                       # in the app's lifespan, after the channels
    ...
    await campaigns.stop()

The senders get connections of their own (a second Telegram backend, a second WhatsApp channel
object with its own Graph client): bulk sends never hold a connection a live reply waits for.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.delivery import outbox
from bot.delivery.scheduler import CampaignScheduler
from bot.delivery.senders import BotApi, Sender, TelegramSender, WhatsAppSender
from bot.delivery.settings import DeliverySettings
from bot.delivery.worker import DeliveryWorker

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


class Campaigns:
    def __init__(self, worker: DeliveryWorker | None, scheduler: CampaignScheduler, db: Any) -> None:
        self.worker = worker
        self.scheduler = scheduler
        self.db = db

    @classmethod
    def from_runtime(cls, runtime: Runtime, settings: DeliverySettings | None = None) -> Campaigns:
        from bot.settings import parse_quiet_hours

        s = runtime.settings
        ds = settings or DeliverySettings()
        senders: dict[str, Sender] = {}
        if s.telegram_enabled:
            from bot.channels.telegram import make_backend

            backend = make_backend(s.model_copy(update={"telegram_webhook_url": "x"}))
            senders["telegram"] = TelegramSender(
                backend, api=BotApi(s.telegram_api_base_url, s.telegram_bot_token or "")
            )
        if s.whatsapp_enabled:
            from bot.channels.whatsapp import make_whatsapp_channel

            # Retries belong to the worker, behind the pacer; the client must not retry on its own.
            senders["whatsapp"] = WhatsAppSender(make_whatsapp_channel(runtime, retry_delays=()))
        # One clock for the conversation, the scheduler and the worker: "sudah bayar" on a day
        # and the reminder of that day are judged on the same calendar (and tests can move it).
        clock = runtime.engine.clock
        worker = None
        if senders:
            worker = DeliveryWorker(
                runtime.db, senders, settings=ds, renderer=runtime.engine.services.renderer,
                quiet=parse_quiet_hours(s.quiet_hours), default_tz=s.timezone, clock=clock,
            )  # fmt: skip
        scheduler = CampaignScheduler(
            runtime.db,
            settings=ds,
            default_tz=s.timezone,
            clock=clock,
            on_queued=worker.wake if worker else None,
            followup_hours=s.followup_hours,
        )
        return cls(worker, scheduler, runtime.db)

    async def start(self) -> None:
        if self.worker is not None:
            for sender in self.worker.senders.values():
                if isinstance(sender, TelegramSender):
                    await sender.start()
            await self.worker.start()
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        if self.worker is not None:
            await self.worker.stop()

    async def health(self) -> dict[str, Any]:
        """The `outbox` and `scheduler` keys of /healthz."""
        from storage.clock import utcnow

        try:
            async with self.db.session() as session:
                backlog: dict[str, Any] = await outbox.backlog(session, utcnow())
        except Exception as exc:
            backlog = {"error": type(exc).__name__}
        backlog["worker"] = "on" if self.worker is not None and self.worker.running else "off"
        return {"outbox": backlog, "scheduler": self.scheduler.state}
