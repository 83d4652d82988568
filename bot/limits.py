"""How large a request body each route takes, enforced while the body streams in.

Starlette reads a body whole (`request.body()`, `request.form()`) before a route can look at
its size, so four 100 MiB posts once cost the server half a gigabyte before any check ran.
`BodyLimit` wraps the whole app: a declared Content-Length over the route's limit is answered
413 before a byte of the body is read, and a chunked body is counted as it arrives and cut off
at the limit. The rest of a refused body is dropped by the HTTP server as it arrives, never
buffered; the connection is not closed on the sender, since a client still writing would then
lose the 413 to a TCP reset and could only guess why.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
# Every route that takes a body, and what it needs; the longest path prefix wins.
LIMITS: dict[str, int] = {
    # The simulator's one JSON message: a user id and a typed text.
    "/simulator/api/": 16 * KIB,
    # Meta batches at most a few hundred KB per POST; Telegram's largest update is far below.
    "/webhook/": 1_000_000,
}
# Everything else is the dashboard's urlencoded forms (no uploads: the form reader takes no files).
# The longest field is a broadcast text of 4,096 characters, at most 12 bytes each once
# percent-encoded (48 KiB); the other fields are short.
DEFAULT_LIMIT = 64 * KIB


def limit_for(path: str) -> int:
    matches = [prefix for prefix in LIMITS if path.startswith(prefix)]
    return LIMITS[max(matches, key=len)] if matches else DEFAULT_LIMIT


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:  # nothing sensible can be said any more; the server drops the connection
                raise
            await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses a malformed length before we see it
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"error": "request body too large", "limit": limit}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
