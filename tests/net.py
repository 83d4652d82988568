"""Loopback sockets for the servers a test starts."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any


def free_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1, handed to the server itself: no window in
    which another test could take the port between choosing it and listening on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serving(app: Any, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """The ASGI app served in this loop by uvicorn with its lifespan, as `bpu-bot run` serves it,
    on `sock` (one of free_socket's, when the app must know its port before it is built);
    yields its base URL and shuts it down (the lifespan's stop included) on leaving."""
    import uvicorn

    from tests.waiting import eventually

    sock = sock or free_socket()
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started or task.done())
        assert server.started, "the HTTP server did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)
        sock.close()
