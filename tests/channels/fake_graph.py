"""A Graph API server of our own, on loopback: it records every send and can answer errors.

    graph = FakeGraph()
    base = graph.start_in_thread()          # "http://127.0.0.1:PORT/v23.0"
    graph.fail_next(131047)                 # the next send gets the re-engagement error
    graph.slow_next(2.0)                    # the next send is accepted, its answer comes 2 s late
    ...
    graph.messages_to("6281234567890")      # what that user was sent, in order
    graph.stop()

Only what the channel calls is served: POST /{version}/{phone-number-id}/messages. Answers have
the Cloud API's shapes (success: messages[].id; error: {"error": {...}} with the HTTP status
Meta uses for it). Also usable inside a running loop (`await graph.serve()`), for the bench.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

VERSION = "v23.0"
ERROR_TITLES = {
    131047: "Re-engagement message",
    131026: "Message undeliverable",
    130429: "Rate limit hit",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131000: "Something went wrong",
    190: "Error validating access token",
}
ERROR_HTTP = {130429: 429, 131000: 500, 190: 401}


@dataclass
class Sent:
    phone_number_id: str
    authorization: str
    body: dict[str, Any]
    wamid: str | None  # None when the fake answered an error

    @property
    def recipient(self) -> str:
        return str(self.body.get("to") or self.body.get("recipient") or "")


class FakeGraph:
    def __init__(self, *, on_send: Callable[[Sent], None] | None = None) -> None:
        self.sent: list[Sent] = []
        self.on_send = on_send
        self._errors: deque[tuple[int, int, str | None]] = deque()
        self._slows: deque[tuple[float, str | None]] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(routes=[Route("/{version}/{phone_id}/messages", self._messages, methods=["POST"])])

    # -- control ------------------------------------------------------------------------

    def fail_next(self, code: int, *, times: int = 1, http_status: int | None = None, to: str | None = None) -> None:
        """The next `times` sends (to `to`, if given) get Graph error `code`."""
        for _ in range(times):
            self._errors.append((code, http_status or ERROR_HTTP.get(code, 400), to))

    def slow_next(self, seconds: float, *, times: int = 1, to: str | None = None) -> None:
        """The next `times` sends (to `to`, if given) are accepted (recorded with their wamid, as
        Meta would deliver them) but answered only after `seconds`: past a client's timeout."""
        for _ in range(times):
            self._slows.append((seconds, to))

    def messages_to(self, recipient: str) -> list[dict[str, Any]]:
        return [s.body for s in self.sent if s.recipient == recipient and s.wamid]

    def clear(self) -> None:
        self.sent.clear()
        self._errors.clear()
        self._slows.clear()

    # -- serving ------------------------------------------------------------------------

    def start_in_thread(self, port: int = 0) -> str:
        """Serve on a thread; `port` 0 is any free one (a given one lets a test start it late)."""
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none")
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, name="fake-graph", daemon=True)
        self._thread.start()
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError("fake Graph server did not start")
            threading.Event().wait(0.005)
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    async def serve(self) -> str:
        """Serve inside the running loop (cancel `self.task` or call `stop()` to end)."""
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none")
        self._server = server = uvicorn.Server(config)
        self.task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.005)
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/{VERSION}"

    # -- the endpoint -------------------------------------------------------------------

    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        recipient = str(body.get("to") or body.get("recipient") or "")
        error = self._take_error(recipient)
        sent = Sent(request.path_params["phone_id"], request.headers.get("authorization", ""), body, None)
        if error is None:
            problem = _invalid(body)
            if problem:
                error = (131009, 400, problem)
        if error is not None:
            code, status, detail = error
            self._record(sent)
            return JSONResponse(_error(code, detail), status_code=status)
        sent.wamid = f"wamid.FAKE{next(self._ids):08d}"
        self._record(sent)
        delay = self._take_slow(recipient)
        if delay:
            await asyncio.sleep(delay)
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": recipient, "wa_id": recipient}],
                "messages": [{"id": sent.wamid, "message_status": "accepted"}],
            }
        )

    def _take_error(self, recipient: str) -> tuple[int, int, str | None] | None:
        with self._lock:
            for i, (code, status, to) in enumerate(self._errors):
                if to is None or to == recipient:
                    del self._errors[i]
                    return code, status, None
        return None

    def _take_slow(self, recipient: str) -> float:
        with self._lock:
            for i, (seconds, to) in enumerate(self._slows):
                if to is None or to == recipient:
                    del self._slows[i]
                    return seconds
        return 0.0

    def _record(self, sent: Sent) -> None:
        self.sent.append(sent)
        if self.on_send is not None:
            self.on_send(sent)


def _error(code: int, detail: str | None) -> dict[str, Any]:
    title = ERROR_TITLES.get(code, "Invalid parameter")
    return {
        "error": {
            "message": f"(#{code}) {title}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": detail or title},
            "fbtrace_id": "AFakeTraceId",
        }
    }


def _invalid(body: dict[str, Any]) -> str | None:
    """The checks Meta makes that our formatting must respect (limits of the interactive types)."""
    if body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not (body.get("to") or body.get("recipient")):
        return "to or recipient is required"
    kind = body.get("type")
    if kind == "text":
        text = body.get("text", {}).get("body", "")
        return "text.body is empty or longer than 4096" if not text or len(text) > 4096 else None
    if kind == "template":
        return None if body.get("template", {}).get("name") else "template.name is required"
    if kind != "interactive":
        return f"type {kind!r} is not served by the fake"
    interactive = body["interactive"]
    if len(interactive.get("body", {}).get("text", "")) > 1024:
        return "interactive body longer than 1024"
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        buttons = action.get("buttons", [])
        titles = [b["reply"]["title"] for b in buttons]
        if not 1 <= len(buttons) <= 3 or any(len(t) > 20 for t in titles) or len(set(titles)) != len(titles):
            return "1-3 buttons with unique titles of at most 20 characters"
        return None
    if interactive.get("type") == "list":
        rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
        if len(action.get("button", "")) > 20 or not 1 <= len(rows) <= 10:
            return "list: button label <= 20, 1-10 rows"
        if any(len(r["title"]) > 24 or len(r.get("description", "")) > 72 or len(r["id"]) > 200 for r in rows):
            return "list rows: title <= 24, description <= 72, id <= 200"
        return None
    return f"interactive type {interactive.get('type')!r} is not served by the fake"
