"""The web simulator: a chat page served by our own HTTP server, for trying the bot in a browser.

The page posts what the worker typed or pressed to /simulator/api/message and shows the replies
of the answer; /simulator/api/user gives a fresh worker id. Its workers are contacts of the
channel `web`, like any other.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.base import ChannelDeps
from bot.safe_json import BadJSON, read_object
from handlers import links
from handlers.messages import IncomingMessage, Kind, Reply
from storage.models import Contact

log = logging.getLogger(__name__)

CHANNEL = "web"  # IncomingMessage.channel, contacts.channel
PAGE_PATH = "/simulator"
PAGE = Path(__file__).parent / "simulator.html"


class WebChannel:
    name = CHANNEL

    def __init__(self, deps: ChannelDeps) -> None:
        self.engine = deps.engine
        self.db = deps.db
        settings = deps.settings
        self.base = f"http://{settings.http_host}:{settings.http_port}"

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route(PAGE_PATH, self.page),
            Route("/simulator/api/message", self.message, methods=["POST"]),
            Route("/simulator/api/user", self.new_user, methods=["POST"]),
        ]

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def describe(self) -> str:
        return f"{self.base}{PAGE_PATH}   (chat with the bot in your browser)"

    async def send(self, user: str, replies: Sequence[Reply]) -> None:
        """The page only shows the replies of its own request: nothing can be pushed to it."""
        log.debug("web simulator: %d replies for %s not shown (the page has no push)", len(replies), user)

    async def page(self, _: Request) -> Response:
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    async def message(self, request: Request) -> Response:
        try:
            body = read_object(await request.body())  # its size is bounded by bot/limits.py
            user = str(body["user"])[:64]
        except BadJSON as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except KeyError:
            expected = "expected JSON with 'user' and 'text' or 'payload'"
            return JSONResponse({"error": expected}, status_code=400)
        if not user:
            return JSONResponse({"error": "'user' is empty"}, status_code=400)
        payload = body.get("payload")
        text = str(body.get("text") or "")
        msg = IncomingMessage(
            channel=CHANNEL,
            user_id=user,
            text=text,
            payload=str(payload) if payload else None,
            kind=Kind.BUTTON if payload else Kind.TEXT,
            update_id=str(body["id"])[:64] if body.get("id") else None,
            language_hint=body.get("lang") if body.get("lang") in ("id", "en") else None,
            start_code=None if payload else links.start_code(text),  # `/start CODE`, as a Telegram deep link
        )
        replies = await self.engine.handle(msg)
        answer: dict[str, object] = {
            "replies": [
                {
                    "text": r.text,
                    "buttons": [{"label": b.label, "payload": b.payload} for b in r.buttons],
                    "request_phone": r.request_phone,
                }
                for r in replies
            ]
        }
        # The page's ID / EN switch shows the conversation's language however it was changed (the
        # switch, a typed "english"); null: the worker's data was just deleted, and the page forgets
        # its copy too. Left out when the database cannot say (the replies are an apology then).
        with contextlib.suppress(SQLAlchemyError, OSError):
            async with self.db.session() as session:
                language = await session.scalar(
                    select(Contact.language).where(Contact.channel == CHANNEL, Contact.external_id == user)
                )
            answer["lang"] = language
        return JSONResponse(answer)

    async def new_user(self, _: Request) -> Response:
        return JSONResponse({"user": "web-" + secrets.token_hex(8)})


def _inline_hashes(html: str, tag: str) -> str:
    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
    digests = (base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() for body in bodies)
    return " ".join(f"'sha256-{digest}'" for digest in digests)


def content_security_policy() -> str:
    """The page's policy: it is one self-contained page; its inline script and style are allowed
    by their hashes, so any other inline code (an injected one) still does not run."""
    html = PAGE.read_text(encoding="utf-8")
    return (
        f"default-src 'self'; script-src 'self' {_inline_hashes(html, 'script')}; "
        f"style-src 'self' {_inline_hashes(html, 'style')}; connect-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
    )
