"""Sending through the Cloud API: POST {base}/{phone-number-id}/messages, errors read by their code.

Error codes (Cloud API "Error codes"):
- 131047 re-engagement: more than 24 hours since the user last wrote; only a template may go out.
- 131026 undeliverable: not on WhatsApp, old client, terms not accepted...; retrying does not help.
- 130429 throughput reached (HTTP 429; also 80007 and 4, account and app limits): every send
  waits, then retries.
- 131056 pair rate: too many messages to this user in a short time (about one per 6 s with
  bursts): wait for that user, then retry.
- 131000 and HTTP 5xx with a Graph error: something went wrong at Meta; retried.

A send is retried only when it surely did not reach Meta: Meta answered it with an error, or the
connection failed before the request was written. When it may have arrived (a read timeout, a
connection closed after the request went, an answer without a readable wamid, a 5xx that is not
Meta's own error) the result is `uncertain` and it is never sent again: a second request could
make the worker read it twice. `may_have_arrived` is that rule, for every caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bot.channels.whatsapp.payloads import ErrorInfo, is_bsuid, parse_error, parse_send_response
from storage import outbound

log = logging.getLogger(__name__)

SEND_TIMEOUT = 60.0  # seconds for Meta's answer: its slow moments are not failures
CONNECT_TIMEOUT = 5.0
# Raised before any byte of the request was written: Meta cannot have the message.
_NOT_WRITTEN = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)

RE_ENGAGEMENT = 131047
UNDELIVERABLE = 131026
THROUGHPUT = frozenset({130429, 80007, 4})
PAIR_RATE = 131056
TRANSIENT = frozenset({131000, 1, 2})


@dataclass(frozen=True, slots=True)
class SendResult:
    """`status` uses the outbound store's words: accepted, needs_template, undeliverable, failed or
    uncertain (may have arrived: never sent again automatically)."""

    status: str
    wamid: str | None = None
    error_code: int | None = None
    error_title: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == outbound.ACCEPTED


class GraphClient:
    """A small Cloud API client: one pooled httpx client, retries for what retrying can fix."""

    def __init__(
        self,
        base_url: str,
        phone_number_id: str,
        access_token: str,
        *,
        client: httpx.AsyncClient | None = None,
        retry_delays: Sequence[float] = (1.0, 4.0, 10.0),
        pair_delay: float = 6.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        send_timeout: float = SEND_TIMEOUT,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )
        self.send_timeout = send_timeout
        self._retry_delays = tuple(retry_delays)
        self._pair_delay = pair_delay
        self._sleep = sleep
        self._paused_until = 0.0  # after a throughput error every send waits until then

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def send(self, recipient: str, message: dict[str, Any], *, group: bool = False) -> SendResult:
        body = {"messaging_product": "whatsapp", **_recipient(recipient, group), **message}
        attempt = 0
        while True:
            await self._wait_for_throughput()
            result, error, http_status = await self._post(body)
            if result is not None:
                return result
            assert error is not None
            delay = self._retry_delay(error, http_status, attempt)
            if delay is None:
                return _failure(error)
            attempt += 1
            log.warning("whatsapp send: error %s, retry %d in %.1fs", error.code, attempt, delay)
            await self._sleep(delay)

    async def _post(self, body: dict[str, Any]) -> tuple[SendResult | None, ErrorInfo | None, int]:
        """The result when the send is decided (accepted or uncertain), else Meta's error to weigh."""
        timeout = httpx.Timeout(self.send_timeout, connect=min(CONNECT_TIMEOUT, self.send_timeout))
        try:
            response = await self._client.post(self.url, json=body, headers=self._headers, timeout=timeout)
        except httpx.RequestError as exc:
            if may_have_arrived(exc):
                return _uncertain(type(exc).__name__), None, 0
            return None, ErrorInfo(None, f"connection: {type(exc).__name__}"), 0
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.is_success:
            wamid = parse_send_response(data)
            if wamid:
                return SendResult(outbound.ACCEPTED, wamid), None, response.status_code
        error = parse_error(data if isinstance(data, dict) else {})
        if may_have_arrived(response, error):
            return _uncertain(f"HTTP {response.status_code} without a message id"), None, response.status_code
        if error.code is None and error.title is None:
            error = ErrorInfo(None, f"HTTP {response.status_code}")
        return None, error, response.status_code

    def _retry_delay(self, error: ErrorInfo, http_status: int, attempt: int) -> float | None:
        if attempt >= len(self._retry_delays):
            return None
        delay = self._retry_delays[attempt]
        if error.code in THROUGHPUT or http_status == 429:
            self._paused_until = max(self._paused_until, time.monotonic() + delay)
            return 0.0  # the pause itself is the wait, shared by every send
        if error.code == PAIR_RATE:
            return max(delay, self._pair_delay)
        if error.code in TRANSIENT or http_status >= 500 or http_status == 0:
            return delay
        return None

    async def _wait_for_throughput(self) -> None:
        wait = self._paused_until - time.monotonic()
        if wait > 0:
            await self._sleep(wait)


def may_have_arrived(outcome: httpx.Response | httpx.RequestError, error: ErrorInfo | None = None) -> bool:
    """Whether a send that brought back no wamid may still have been taken by Meta.

    An error raised before the request was written (refused, connect or pool timeout) proves it
    was not; any later one (read timeout, connection closed, unreadable answer) proves nothing.
    Meta's own error body (`error`, with a code) says it did not take the message; a 2xx without
    a wamid, or a 5xx that is not a Graph error (a proxy's page, a gateway timeout), says nothing.
    """
    if isinstance(outcome, httpx.RequestError):
        return not isinstance(outcome, _NOT_WRITTEN)
    if outcome.is_success:
        return True
    return outcome.status_code >= 500 and (error is None or error.code is None)


def _uncertain(why: str) -> SendResult:
    return SendResult(outbound.UNCERTAIN, error_title=f"may have arrived: {why}")


def _failure(error: ErrorInfo) -> SendResult:
    if error.code == RE_ENGAGEMENT:
        status = outbound.NEEDS_TEMPLATE
    elif error.code == UNDELIVERABLE:
        status = outbound.UNDELIVERABLE
    else:
        status = outbound.FAILED
    return SendResult(status, None, error.code, error.title)


def status_for_error(code: int | None) -> str:
    """The outbound status of a `failed` status webhook with this error code."""
    if code == RE_ENGAGEMENT:
        return outbound.NEEDS_TEMPLATE
    if code == UNDELIVERABLE:
        return outbound.UNDELIVERABLE
    return outbound.FAILED


def _recipient(recipient: str, group: bool) -> dict[str, str]:
    if group:
        return {"recipient_type": "group", "to": recipient}
    if is_bsuid(recipient):
        return {"recipient_type": "individual", "recipient": recipient}
    return {"recipient_type": "individual", "to": recipient}
