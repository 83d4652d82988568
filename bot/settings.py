"""Configuration from the environment (or a .env file), as DESIGN.md's table says.

Read once at start (`Settings()`) and handed down: the runtime, the channels (ChannelDeps), the
delivery worker and the dashboard read this one object, never the environment again. A bad value
stops the start with pydantic's message, which names the variable.

WhatsApp's approved templates are a family of variables, one per purpose
(`WHATSAPP_TEMPLATE_REMINDER=iuran_reminder_v1:id`): `_TemplateSource` collects them from the
environment and the .env file (the environment wins, variable by variable) into
`whatsapp_templates`, {"reminder": TemplateConfig(...)}.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url

TEMPLATE_PREFIX = "WHATSAPP_TEMPLATE_"


class TemplateConfig(BaseModel):
    """An approved WhatsApp template: `name:language`; its body variables {{1}}, {{2}}... in order."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str = Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")

    @classmethod
    def parse(cls, value: str) -> TemplateConfig:
        name, sep, language = value.strip().partition(":")
        if not sep:
            raise ValueError(f"expected name:language (e.g. iuran_reminder_v1:id), got {value!r}")
        return cls(name=name.strip(), language=language.strip())

    def message(self, variables: Sequence[str] = ()) -> dict[str, Any]:
        """The Graph API message that sends this template with `variables` in its body."""
        template: dict[str, Any] = {"name": self.name, "language": {"code": self.language}}
        if variables:
            template["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": str(v)} for v in variables]}
            ]
        return {"type": "template", "template": template}


class _TemplateSource(PydanticBaseSettingsSource):
    """`WHATSAPP_TEMPLATE_<PURPOSE>` from .env, then the environment over it -> {"purpose": "name:lang"}.

    It reads what the two standard sources already loaded, so `_env_file` (or None) applies here too.
    """

    def __init__(self, settings_cls: type[BaseSettings], env: EnvSettingsSource, dotenv: DotEnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self.sources = (dotenv, env)  # the later wins

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all the work is in __call__: one field from many variables

    def __call__(self) -> dict[str, Any]:
        found: dict[str, str] = {}
        for source in self.sources:
            found.update(_prefixed(source.env_vars))
        return {"whatsapp_templates": found} if found else {}


def _prefixed(env_vars: Mapping[str, str | None]) -> dict[str, str]:
    """The non-empty WHATSAPP_TEMPLATE_* values by purpose, lower case (pydantic-settings lowers the names)."""
    prefix = TEMPLATE_PREFIX.lower()
    return {
        key.lower()[len(prefix) :]: value
        for key, value in env_vars.items()
        if key.lower().startswith(prefix) and len(key) > len(prefix) and value
    }


class Settings(BaseSettings):
    # Secrets may also come as files, one per variable named like it: systemd's LoadCredential
    # puts them in $CREDENTIALS_DIRECTORY (deploy/bpu-bot@.service); BPU_SECRETS_DIR elsewhere.
    # The environment still wins over a file.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        secrets_dir=os.environ.get("CREDENTIALS_DIRECTORY") or os.environ.get("BPU_SECRETS_DIR"),
    )

    database_url: str = Field("sqlite:///bpu-bot.db", alias="BPU_DATABASE_URL")
    http_host: str = Field("127.0.0.1", alias="BPU_HTTP_HOST")
    http_port: int = Field(8080, alias="BPU_HTTP_PORT")
    secret_key: str | None = Field(None, alias="BPU_SECRET_KEY")
    timezone: str = Field("Asia/Jakarta", alias="BPU_TIMEZONE")
    quiet_hours: str = Field("21-7", alias="BPU_QUIET_HOURS")
    # "json": one JSON object per log line, for a log collector; "text" for a person reading.
    log_format: Literal["text", "json"] = Field("text", alias="BPU_LOG_FORMAT")

    telegram_bot_token: str | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_backend: str = Field("ptb", alias="TELEGRAM_BACKEND")
    telegram_api_base_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_BASE_URL")
    telegram_webhook_url: str | None = Field(None, alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: str | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")
    # Updates handled at once. More does not answer faster: the engine is CPU-bound on one
    # core, and httpx's connection pool costs grow with the requests queued in it.
    telegram_concurrency: int = Field(8, alias="TELEGRAM_CONCURRENCY", ge=1, le=256)

    whatsapp_access_token: str | None = Field(None, alias="WHATSAPP_ACCESS_TOKEN")
    whatsapp_phone_number_id: str | None = Field(None, alias="WHATSAPP_PHONE_NUMBER_ID")
    whatsapp_app_secret: str | None = Field(None, alias="WHATSAPP_APP_SECRET")
    whatsapp_verify_token: str | None = Field(None, alias="WHATSAPP_VERIFY_TOKEN")
    whatsapp_api_base_url: str = Field("https://graph.facebook.com/v23.0", alias="WHATSAPP_API_BASE_URL")
    # WHATSAPP_TEMPLATE_<PURPOSE>=name:lang, one variable per purpose (see the module docstring).
    whatsapp_templates: dict[str, TemplateConfig] = Field(default_factory=dict)

    # The staff dashboard.
    target: int | None = Field(None, alias="BPU_TARGET")
    targets_by_region: str | None = Field(None, alias="BPU_TARGETS_BY_REGION")  # "3673=20000,3604=30000"
    followup_hours: int = Field(48, alias="BPU_FOLLOWUP_HOURS")
    office_hours: str = Field("Senin-Jumat 08.00-16.00", alias="BPU_OFFICE_HOURS")
    telegram_bot_username: str | None = Field(None, alias="TELEGRAM_BOT_USERNAME")
    whatsapp_display_number: str | None = Field(None, alias="WHATSAPP_DISPLAY_NUMBER")

    # Campaigns: the delivery worker and the scheduler (bot/delivery/). Pacing is for bulk sends only.
    telegram_rate_per_second: float = Field(30.0, alias="TELEGRAM_RATE_PER_SECOND")
    telegram_rate_per_chat: float = Field(1.0, alias="TELEGRAM_RATE_PER_CHAT")
    whatsapp_rate_per_second: float = Field(80.0, alias="WHATSAPP_RATE_PER_SECOND")
    # Meta's pair rate limit (error 131056): about one message per 6 s to one user.
    whatsapp_seconds_per_chat: float = Field(6.0, alias="WHATSAPP_SECONDS_PER_CHAT", ge=0)
    # Meta's unique business-initiated recipients per rolling 24 h (250, 2000, 10000, 100000); 0 = unlimited.
    whatsapp_daily_limit: int = Field(250, alias="WHATSAPP_DAILY_LIMIT")
    reminder_days_before: int = Field(3, alias="BPU_REMINDER_DAYS_BEFORE")
    reminder_hour: int = Field(9, alias="BPU_REMINDER_HOUR")  # local hour reminders go out
    broadcast_headroom: float = Field(0.2, alias="BROADCAST_HEADROOM")  # kept free for live replies
    max_attempts: int = Field(5, alias="BPU_DELIVERY_MAX_ATTEMPTS")
    retry_base_seconds: float = Field(2.0, alias="BPU_DELIVERY_RETRY_BASE")
    retry_max_seconds: float = Field(300.0, alias="BPU_DELIVERY_RETRY_MAX")
    # How long a bulk send waits for the platform's answer. Long: a send whose answer is late is
    # `uncertain` (it may have arrived) and never retried, so a short wait loses messages to doubt.
    delivery_send_timeout: float = Field(60.0, alias="BPU_DELIVERY_SEND_TIMEOUT", gt=0)
    reminder_tick_seconds: float = Field(60.0, alias="BPU_REMINDER_TICK_SECONDS")
    broadcast_tick_seconds: float = Field(5.0, alias="BPU_BROADCAST_TICK_SECONDS")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        assert isinstance(env_settings, EnvSettingsSource) and isinstance(dotenv_settings, DotEnvSettingsSource)
        templates = _TemplateSource(settings_cls, env_settings, dotenv_settings)
        return init_settings, templates, env_settings, dotenv_settings, file_secret_settings

    @field_validator("whatsapp_templates", mode="before")
    @classmethod
    def _templates(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        templates: dict[str, Any] = {}
        for purpose, spec in value.items():
            if isinstance(spec, str):
                try:
                    spec = TemplateConfig.parse(spec)
                except (ValueError, ValidationError) as exc:
                    raise ValueError(f"{TEMPLATE_PREFIX}{purpose.upper()}: {exc}") from None
            templates[purpose.lower()] = spec
        return templates

    @field_validator("telegram_backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        if value not in ("ptb", "aiogram"):
            raise ValueError("TELEGRAM_BACKEND must be 'ptb' or 'aiogram'")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @field_validator("targets_by_region")
    @classmethod
    def _targets(cls, value: str | None) -> str | None:
        if value:
            parse_targets_by_region(value)
        return value

    @field_validator("broadcast_headroom")
    @classmethod
    def _headroom(cls, value: float) -> float:
        if not 0 <= value < 1:
            raise ValueError("BROADCAST_HEADROOM is a fraction from 0 to below 1, e.g. 0.2")
        return value

    @field_validator("whatsapp_daily_limit")
    @classmethod
    def _daily_limit(cls, value: int) -> int:
        if value < 0:
            raise ValueError("WHATSAPP_DAILY_LIMIT must be 0 (unlimited) or a tier such as 250, 2000, 10000")
        return value

    @field_validator("reminder_days_before")
    @classmethod
    def _days_before(cls, value: int) -> int:
        if not 0 <= value <= 20:
            raise ValueError("BPU_REMINDER_DAYS_BEFORE must be 0..20")
        return value

    def bulk_rate(self, per_second: float | None) -> float | None:
        """A channel's bulk rate with the headroom for live replies taken off (None: no limit)."""
        if not per_second or per_second <= 0:
            return None
        return per_second * (1.0 - self.broadcast_headroom)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def whatsapp_enabled(self) -> bool:
        return all(
            (
                self.whatsapp_access_token,
                self.whatsapp_phone_number_id,
                self.whatsapp_app_secret,
                self.whatsapp_verify_token,
            )
        )

    def secret_file(self) -> Path:
        """Where a generated secret is kept: beside the SQLite file, else in the working directory."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            db = Path(url.database)
            return db.parent / f".{db.name}.secret"
        return Path(".bpu-bot.secret")

    def resolved_secret_key(self) -> str:
        """BPU_SECRET_KEY, or one generated once and kept in a 0600 file beside the database."""
        if self.secret_key:
            return self.secret_key
        path = self.secret_file()
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(48)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        return key


def parse_quiet_hours(value: str) -> tuple[int, int]:
    """`21-7` -> (21, 7): no broadcast from 21:00 until 07:00 local time."""
    try:
        start, end = (int(part) for part in value.split("-"))
    except ValueError:
        raise ValueError(f"BPU_QUIET_HOURS must look like 21-7, got {value!r}") from None
    if not (0 <= start <= 23 and 0 <= end <= 23):
        raise ValueError(f"BPU_QUIET_HOURS hours must be 0..23, got {value!r}")
    return start, end


def parse_targets_by_region(value: str | None) -> dict[str, int]:
    """`3673=20000,3604=30000` -> {"3673": 20000, "3604": 30000} (area code -> registered workers)."""
    targets: dict[str, int] = {}
    for part in (value or "").split(","):
        if not part.strip():
            continue
        code, _, number = part.partition("=")
        code, number = code.strip(), number.strip().replace(".", "").replace("_", "")
        if not (code.isdigit() and len(code) in (4, 6) and number.isdigit()):
            raise ValueError(f"BPU_TARGETS_BY_REGION must look like 3673=20000,3604=30000, got {value!r}")
        targets[code] = int(number)
    return targets
