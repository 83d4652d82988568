"""The 24-hour customer-service window and the approved templates used outside it.

A message from the worker opens (or refreshes) a 24-hour window in which anything may be sent.
Outside it only an approved template may start a conversation (a free-form send fails with
131047). Templates are configured per purpose in the environment (or .env):

    WHATSAPP_TEMPLATE_REMINDER=iuran_reminder_v1:id
    WHATSAPP_TEMPLATE_BROADCAST=kabar_bpu_v2:id

`name:language`; the template's body variables {{1}}, {{2}}... are filled in order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from handlers.broadcasts import WINDOW
from storage.clock import as_utc
from storage.models import Contact

ENV_PREFIX = "WHATSAPP_TEMPLATE_"


class TemplateConfig(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str = Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")

    @classmethod
    def parse(cls, value: str) -> TemplateConfig:
        name, sep, language = value.strip().partition(":")
        if not sep:
            raise ValueError(f"expected name:language (e.g. iuran_reminder_v1:id), got {value!r}")
        return cls(name=name.strip(), language=language.strip())

    def message(self, variables: Sequence[str] = ()) -> dict[str, Any]:
        template: dict[str, Any] = {"name": self.name, "language": {"code": self.language}}
        if variables:
            template["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": str(v)} for v in variables]}
            ]
        return {"type": "template", "template": template}


def load_templates(
    environ: Mapping[str, str] | None = None, env_file: str | None = ".env"
) -> dict[str, TemplateConfig]:
    """`WHATSAPP_TEMPLATE_<PURPOSE>=name:lang` -> {"purpose": TemplateConfig}; the environment wins over .env."""
    values: dict[str, str] = {}
    if env_file and os.path.exists(env_file):
        from dotenv import dotenv_values

        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    templates: dict[str, TemplateConfig] = {}
    for key, value in values.items():
        if key.upper().startswith(ENV_PREFIX) and value:
            purpose = key[len(ENV_PREFIX) :].lower()
            try:
                templates[purpose] = TemplateConfig.parse(value)
            except (ValueError, ValidationError) as exc:
                raise ValueError(f"{key}: {exc}") from None
    return templates


def can_send_free_form(contact: Contact | None, now: datetime) -> bool:
    """True while the contact's last message is less than 24 hours old."""
    if contact is None or contact.last_inbound_at is None:
        return False
    return now - as_utc(contact.last_inbound_at) < WINDOW
