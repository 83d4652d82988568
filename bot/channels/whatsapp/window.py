"""The 24-hour customer-service window, outside which only an approved template may be sent.

A message from the worker opens (or refreshes) a 24-hour window in which anything may be sent.
Outside it only an approved template may start a conversation (a free-form send fails with
131047). Templates are configured per purpose in the environment (or .env):

    WHATSAPP_TEMPLATE_REMINDER=iuran_reminder_v1:id
    WHATSAPP_TEMPLATE_BROADCAST=kabar_bpu_v2:id

`name:language`; the template's body variables {{1}}, {{2}}... are filled in order. They are read
with the other settings, into `Settings.whatsapp_templates` (bot/settings.py: TemplateConfig),
which the channel gets from ChannelDeps.
"""

from __future__ import annotations

from datetime import datetime

from handlers.broadcasts import WINDOW
from storage.clock import as_utc
from storage.models import Contact


def can_send_free_form(contact: Contact | None, now: datetime) -> bool:
    """True while the contact's last message is less than 24 hours old."""
    if contact is None or contact.last_inbound_at is None:
        return False
    return now - as_utc(contact.last_inbound_at) < WINDOW
