"""Webhook mode's settings: the URL Telegram posts to, the secret it sends back, and when
setWebhook may be called (once our HTTP server listens: it starts only after the channels)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.settings import Settings

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhook/telegram"
_SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def webhook_url(settings: Settings) -> str | None:
    """TELEGRAM_WEBHOOK_URL as given, or with /webhook/telegram added when it has no path."""
    url = settings.telegram_webhook_url
    if not url:
        return None
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        parts = parts._replace(path=WEBHOOK_PATH)
    return urlunsplit(parts)


def webhook_secret(settings: Settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one generated once and kept in a 0600 file beside the database."""
    if settings.telegram_webhook_secret:
        if not _SECRET_CHARS.match(settings.telegram_webhook_secret):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
        return settings.telegram_webhook_secret
    base = settings.secret_file()
    path = base.with_name(base.name.removesuffix(".secret") + ".telegram-secret")
    return _kept_secret(path)


def _kept_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)  # only A-Z a-z 0-9 _ -, as setWebhook requires
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    return secret


def serving_address(settings: Settings, url: str) -> tuple[str, int]:
    """Where our HTTP server listens: BPU_HTTP_HOST/PORT, or the webhook URL itself when it
    points at this machine (a local Bot API server, the tests)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host == "localhost" or _is_loopback(host):
        return host, parts.port or (443 if parts.scheme == "https" else 80)
    listen = settings.http_host
    if listen in ("", "0.0.0.0"):
        listen = "127.0.0.1"
    elif listen == "::":
        listen = "::1"
    return listen, settings.http_port


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def wait_listening(host: str, port: int, *, give_up_after: float = 10.0) -> None:
    """Until a TCP connection to host:port is accepted: the HTTP server starts listening only
    after the channels have started. Past `give_up_after` seconds, go on anyway (logged)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    while loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
    log.warning("telegram: nothing listens on %s:%s yet; setting the webhook anyway", host, port)
