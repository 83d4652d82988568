"""The dashboard's fixtures (ASGI app over httpx, staff, cheap argon2) serve these tests too."""

from tests.dashboard.conftest import cheap_argon2, client, runtime  # noqa: F401
