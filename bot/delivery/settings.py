"""Delivery settings: now fields of bot/settings.Settings (same environment names).

`DeliverySettings` stays as the name the delivery code, the CLI, the dashboard and the tests
use: it is `Settings` itself, so `DeliverySettings(BROADCAST_HEADROOM=0.0)` and `Settings()`
read the same variables, and `runtime.settings` can be handed to the worker and the scheduler.
"""

from __future__ import annotations

from bot.settings import Settings

# Meta's tiers of unique business-initiated recipients per rolling 24 hours; 0 = unlimited.
WHATSAPP_TIERS = (250, 2_000, 10_000, 100_000, 0)


# The settings, under the name the delivery code has always used (see the module docstring).
DeliverySettings = Settings
