"""The delivery settings are fields of bot/settings.Settings, under their environment names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.channels import registry
from bot.channels.base import Pacing
from bot.delivery.settings import DeliverySettings
from bot.settings import Settings


def test_read_by_settings_under_the_same_names(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "TELEGRAM_RATE_PER_SECOND": "25", "TELEGRAM_RATE_PER_CHAT": "0.5", "WHATSAPP_RATE_PER_SECOND": "40",
        "WHATSAPP_DAILY_LIMIT": "2000", "BPU_REMINDER_DAYS_BEFORE": "2", "BPU_REMINDER_HOUR": "8",
        "BROADCAST_HEADROOM": "0.1", "BPU_DELIVERY_MAX_ATTEMPTS": "3", "BPU_DELIVERY_RETRY_BASE": "1.5",
        "BPU_DELIVERY_RETRY_MAX": "60", "BPU_REMINDER_TICK_SECONDS": "30", "BPU_BROADCAST_TICK_SECONDS": "2",
    }  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for s in (Settings(), DeliverySettings()):  # type: ignore[call-arg]
        assert (s.telegram_rate_per_second, s.whatsapp_daily_limit, s.reminder_days_before) == (25, 2000, 2)
        assert (s.reminder_hour, s.max_attempts, s.retry_base_seconds, s.retry_max_seconds) == (8, 3, 1.5, 60)
        assert (s.reminder_tick_seconds, s.broadcast_tick_seconds) == (30, 2)
        telegram, whatsapp = registry.pacing(s, "telegram"), registry.pacing(s, "whatsapp")
        assert telegram.per_second == pytest.approx(22.5) and whatsapp.per_second == pytest.approx(36)
        assert telegram.per_chat_seconds == 2.0 and whatsapp.per_chat_seconds == 6.0  # Meta's pair limit
        assert registry.pacing(s, "web") == Pacing(None, 0.0)  # no bulk sends there: unpaced
    assert isinstance(DeliverySettings(), Settings)  # type: ignore[call-arg]


def test_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    unlimited = Settings(BROADCAST_HEADROOM=0, TELEGRAM_RATE_PER_SECOND=0)  # type: ignore[call-arg]
    assert registry.pacing(unlimited, "telegram").per_second is None
    assert registry.pacing(Settings(WHATSAPP_SECONDS_PER_CHAT="0.5"), "whatsapp").per_chat_seconds == 0.5  # type: ignore[call-arg]
    for key, value in (("BROADCAST_HEADROOM", "1"), ("WHATSAPP_DAILY_LIMIT", "-1"), ("BPU_REMINDER_DAYS_BEFORE", "30")):
        with pytest.raises(ValidationError, match=key):
            Settings(**{key: value})  # type: ignore[arg-type]
