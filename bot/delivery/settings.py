"""Delivery settings, read from the environment (or .env) like bot/settings.py.

Kept here, not in bot/settings.Settings, while that file is being changed by another engineer;
they belong there in the end (same env names, so moving them changes nothing for deployments).
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Meta's tiers of unique business-initiated recipients per rolling 24 hours; 0 = unlimited.
WHATSAPP_TIERS = (250, 2_000, 10_000, 100_000, 0)


class DeliverySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_rate_per_second: float = Field(30.0, alias="TELEGRAM_RATE_PER_SECOND")
    telegram_rate_per_chat: float = Field(1.0, alias="TELEGRAM_RATE_PER_CHAT")
    whatsapp_rate_per_second: float = Field(80.0, alias="WHATSAPP_RATE_PER_SECOND")
    whatsapp_daily_limit: int = Field(250, alias="WHATSAPP_DAILY_LIMIT")  # 0 = unlimited tier
    reminder_days_before: int = Field(3, alias="BPU_REMINDER_DAYS_BEFORE")
    reminder_hour: int = Field(9, alias="BPU_REMINDER_HOUR")  # local hour reminders go out
    broadcast_headroom: float = Field(0.2, alias="BROADCAST_HEADROOM")  # kept free for live replies
    max_attempts: int = Field(5, alias="BPU_DELIVERY_MAX_ATTEMPTS")
    retry_base_seconds: float = Field(2.0, alias="BPU_DELIVERY_RETRY_BASE")
    retry_max_seconds: float = Field(300.0, alias="BPU_DELIVERY_RETRY_MAX")
    reminder_tick_seconds: float = Field(60.0, alias="BPU_REMINDER_TICK_SECONDS")
    broadcast_tick_seconds: float = Field(5.0, alias="BPU_BROADCAST_TICK_SECONDS")

    @field_validator("broadcast_headroom")
    @classmethod
    def _headroom(cls, value: float) -> float:
        if not 0 <= value < 1:
            raise ValueError("BROADCAST_HEADROOM is a fraction from 0 to below 1, e.g. 0.2")
        return value

    @field_validator("whatsapp_daily_limit")
    @classmethod
    def _tier(cls, value: int) -> int:
        if value < 0:
            raise ValueError("WHATSAPP_DAILY_LIMIT must be 0 (unlimited) or a tier such as 250, 2000, 10000")
        return value

    @field_validator("reminder_days_before")
    @classmethod
    def _days(cls, value: int) -> int:
        if not 0 <= value <= 20:
            raise ValueError("BPU_REMINDER_DAYS_BEFORE must be 0..20")
        return value

    def rate(self, channel: str) -> float | None:
        """Messages per second for bulk sends on `channel` (None: no limit)."""
        base = {"telegram": self.telegram_rate_per_second, "whatsapp": self.whatsapp_rate_per_second}.get(channel)
        if not base or base <= 0:
            return None
        return base * (1.0 - self.broadcast_headroom)

    def per_chat_interval(self, channel: str) -> float:
        """Seconds between two bulk messages to one chat."""
        if channel == "telegram" and self.telegram_rate_per_chat > 0:
            return 1.0 / self.telegram_rate_per_chat
        if channel == "whatsapp":
            return 6.0  # the pair rate limit (131056): about one message per 6 s to one user
        return 0.0
