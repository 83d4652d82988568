"""The staff dashboard, served by `bpu-bot run` on the same HTTP server as the bot.

`routes(runtime)` gives the Starlette routes (pages and the static files shipped in this
package: no CDN, it works offline). Pages are Jinja2 templates with autoescape on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

if TYPE_CHECKING:
    from bot.runtime import Runtime


def routes(runtime: Runtime) -> list[BaseRoute]:
    from bot.dashboard import (
        admin,
        attendees,
        campaigns,
        field_entry,
        handover,
        leads,
        overview,
        session_pages,
        tools,
    )
    from bot.dashboard.web import STATIC, Dashboard

    dash = Dashboard(runtime)
    found: list[BaseRoute] = []
    for module in (session_pages, overview, field_entry, leads, handover, tools, campaigns, attendees, admin):
        found.extend(module.routes(dash))
    found.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))
    return found
