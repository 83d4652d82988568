"""Logging for `bpu-bot run` and `chat`: no secret reaches a log line, and no line per scheduler tick.

Anyone who can read the log must not be able to take over the bot. Two layers, because either
alone leaks: libraries that print request URLs are turned down (a Bot API URL holds the token,
a WhatsApp verification GET holds the verify token), and every handler of the root logger
carries `RedactSecrets`, which rewrites a record's message, traceback and stack before any
formatter sees them, whatever logger or level it came from.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from handlers.redact import redact as redact_personal

if TYPE_CHECKING:
    from bot.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HIDDEN = "<secret>"

# A Bot API token has this shape wherever it comes from, configured or not (a second bot, a test).
_BOT_TOKEN = re.compile(r"(?<![\w])(bot)?\d{5,}:[A-Za-z0-9_-]{20,}")
_SHORTEST_SECRET = 6  # a shorter "secret" would match ordinary words and blank half the log

# Each of these logs a line per request with its URL (httpx, httpcore, aiohttp's access log,
# the Telegram libraries' own request logs) or a line per scheduler run ("Running job ...",
# "... executed successfully": some 700 lines in 20 minutes). Their warnings still come through.
QUIETED = (
    "httpx",
    "httpcore",
    "hpack",
    "aiohttp.access",
    "aiohttp.client",
    "aiogram.event",
    "telegram.ext.ExtBot",
    "telegram._bot",
    "apscheduler.executors",
    "apscheduler.scheduler",
)


OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def secrets_of(settings: Settings) -> list[str]:
    """Every configured value whose reader could impersonate the bot or forge a session."""
    from sqlalchemy.engine import make_url

    values = [
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.whatsapp_access_token,
        settings.whatsapp_app_secret,
        settings.whatsapp_verify_token,
        settings.secret_key,
    ]
    try:
        values.append(make_url(settings.database_url).password)
        # A generated key is read, never created here: `bpu-bot nlu predict` must not leave a file.
        if not settings.secret_key and settings.secret_file().exists():
            values.append(settings.secret_file().read_text().strip())
    except Exception:  # an unparsable URL fails later, where it is used; here it only has no password
        pass
    return [v for v in values if v]


class RedactSecrets(logging.Filter):
    """Replaces each known secret and anything shaped like a Bot API token with <secret>."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._known: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        known = {s for s in secrets if s and len(s) >= _SHORTEST_SECRET} | set(self._known)
        self._known = sorted(known, key=len, reverse=True)  # the longest first: one may contain another
        self._pattern = re.compile("|".join(re.escape(s) for s in self._known)) if self._known else None

    def redact(self, text: str) -> str:
        """Secrets out, then personal numbers (NIK, phone, account, email) masked."""
        return redact_personal(self._without_secrets(text))

    def _without_secrets(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(HIDDEN, text)
        return _BOT_TOKEN.sub(lambda m: (m.group(1) or "") + HIDDEN, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the caller's bug; logging's own handler reports it
            return True
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # The formatter would print the exception as it is; an httpx error's text holds its URL.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record (BPU_LOG_FORMAT=json): time (UTC), level, logger, message and the
    traceback when there is one, all already redacted by `RedactSecrets`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)


def configure(
    settings: Settings | None = None,
    level: int = logging.INFO,
    handler: logging.Handler | None = None,
    extra_secrets: Iterable[str] = (),
) -> RedactSecrets:
    """Set up the root logger with one redacting handler (stderr unless `handler` is given)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = handler or logging.StreamHandler()
    as_json = settings is not None and settings.log_format == "json"
    handler.setFormatter(JsonLines() if as_json else logging.Formatter(FORMAT))
    secret_values = list(extra_secrets)
    if settings is not None:
        secret_values += secrets_of(settings)
    redactor = RedactSecrets(secret_values)
    handler.addFilter(redactor)
    root.addHandler(handler)
    # uvicorn writes through handlers of its own that the root's filter never sees; a logger's
    # filter outlives the dictConfig uvicorn applies when it starts.
    for name in OWN_HANDLERS:
        logger = logging.getLogger(name)
        for stale in [f for f in logger.filters if isinstance(f, RedactSecrets)]:
            logger.removeFilter(stale)
        logger.addFilter(redactor)
    root.setLevel(level)
    for name in QUIETED:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return redactor
