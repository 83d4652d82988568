"""Issue 14.9: the dashboard's security headers on every route of the server, not only the dashboard's."""

from __future__ import annotations

import httpx
import pytest

from bot.dashboard.web import SECURITY_HEADERS


@pytest.mark.parametrize("path", ["/simulator", "/healthz", "/login", "/static/dashboard.css"])
async def test_every_route_sends_the_security_headers(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"):
        assert r.headers.get(name), f"{path} lacks {name}"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]


async def test_the_simulator_allows_its_own_inline_code_and_nothing_else(client: httpx.AsyncClient) -> None:
    policy = (await client.get("/simulator")).headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "'sha256-" in policy
    # The dashboard keeps its own, stricter policy.
    assert (await client.get("/login")).headers["Content-Security-Policy"] == SECURITY_HEADERS[
        "Content-Security-Policy"
    ]


async def test_the_simulator_api_answers_with_the_headers(client: httpx.AsyncClient) -> None:
    r = await client.post("/simulator/api/message", json={"user": "web-h", "text": "halo"})
    assert r.status_code == 200 and r.headers["X-Frame-Options"] == "SAMEORIGIN"
