"""The plumbing every dashboard page shares: who is asking, CSRF, templates, security headers.

`Dashboard.route(path, endpoint, roles=...)` wraps an endpoint so that it runs only for a
logged-in, active staff member of one of `roles`, and, for a POST, only with a valid CSRF
token. Visitors who are not logged in are sent to the login page; others get 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.dashboard import auth, csrf
from bot.dashboard.i18n import translate
from bot.local_time import show_local
from content import formatting, regions
from handlers import occupations
from storage import scope
from storage.models import LEAD_STATUSES, ROLES, Staff

if TYPE_CHECKING:
    from bot.runtime import Runtime

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
ALL_ROLES = ROLES
OFFICE = ("admin", "staff")
STATUSES = LEAD_STATUSES

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(slots=True)
class Ctx:
    """One request to the dashboard."""

    request: Request
    dash: Dashboard
    data: auth.SessionData
    staff: Staff | None
    form: FormData | None = None
    session_changed: bool = False
    flash: str | None = None

    @property
    def runtime(self) -> Runtime:
        return self.dash.runtime

    @property
    def lang(self) -> str:
        return self.data.lang

    def t(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)

    @property
    def areas(self) -> list[str] | None:
        """The areas this staff member may see: None for all (admin, staff), a list for a coordinator."""
        return scope.of(self.staff)

    @property
    def me(self) -> Staff:
        """The signed-in staff member, on a page that required one."""
        if self.staff is None:
            raise RuntimeError("this page needs a signed-in staff member")
        return self.staff

    @property
    def actor(self) -> str:
        return f"staff:{self.staff.id}" if self.staff else "anonymous"

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def set_session(self, data: auth.SessionData) -> None:
        self.data = data
        self.session_changed = True

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        html = self.dash.env.get_template(template).render(ctx=self, t=self.t, staff=self.staff, **context)
        return HTMLResponse(html, status_code=status_code)

    def redirect(self, url: str) -> Response:
        return RedirectResponse(url, status_code=303)

    def error(self, status_code: int, key: str) -> Response:
        return self.render("error.html", status_code=status_code, message=self.t(key))


Endpoint = Callable[[Ctx], Awaitable[Response]]


class Dashboard:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.codec = auth.SessionCodec(runtime.settings.resolved_secret_key())
        self.tz = ZoneInfo(runtime.settings.timezone)
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            number=lambda v, lang="id": formatting.number(v or 0, lang),
            rp=lambda v: formatting.rupiah(v or 0),
            local=self.local_time,
            day=lambda v, lang="id": formatting.long_date(v, lang) if v else "",
            region=region_name,
            occupation=lambda key, lang="id": occupations.label(key, lang) or key or "",
            urlq=lambda v: quote(str(v), safe=""),
        )
        self.env.globals.update(
            statuses=STATUSES,
            kabkota_list=regions.kabkota_list,
            kecamatan_of=regions.kecamatan_of,
            occupation_list=occupations.categories,
        )

    def local_time(self, value: datetime | None, fmt: str = "%d-%m-%Y %H:%M %Z") -> str:
        """A stored instant as staff read it: in BPU_TIMEZONE, with the zone's abbreviation (WIB)."""
        return show_local(value, self.tz, fmt)

    def zone_label(self) -> str:
        """The branch's zone as staff know it, e.g. "WIB, Asia/Jakarta"."""
        return f"{datetime.now(self.tz):%Z}, {self.tz.key}"

    def today(self) -> date:
        return datetime.now(self.tz).date()

    async def context(self, request: Request) -> Ctx:
        data = self.codec.load(request)
        staff = None
        if data.staff_id is not None:
            async with self.runtime.db.session() as session:
                staff = await auth.current_staff(session, data)
        ctx = Ctx(request=request, dash=self, data=data, staff=staff)
        if request.cookies.get(auth.COOKIE) is None:
            ctx.session_changed = True
        if data.staff_id is not None and staff is None:
            ctx.set_session(auth.logged_out(data))
        return ctx

    def finish(self, ctx: Ctx, response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if ctx.session_changed:
            self.codec.store(response, ctx.request, ctx.data)
        return response

    def route(
        self,
        path: str,
        endpoint: Endpoint,
        *,
        roles: Sequence[str] | None = ALL_ROLES,
        methods: Sequence[str] = ("GET",),
        name: str | None = None,
    ) -> Route:
        """`roles=None` makes a public page (login); POSTs are CSRF-checked either way."""

        async def handle(request: Request) -> Response:
            ctx = await self.context(request)
            if request.method == "POST":
                ctx.form = await request.form(max_files=0, max_fields=200)
                if not csrf.valid(ctx.data.csrf, ctx.form.get(csrf.FIELD)):
                    return self.finish(ctx, ctx.error(403, "csrf_failed"))
            if roles is not None:
                if ctx.staff is None:
                    if request.method == "GET":
                        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                        return self.finish(ctx, ctx.redirect("/login?next=" + quote(target, safe="")))
                    return self.finish(ctx, ctx.error(401, "forbidden"))
                if ctx.staff.role not in roles:
                    return self.finish(ctx, ctx.error(403, "forbidden"))
            return self.finish(ctx, await endpoint(ctx))

        return Route(path, handle, methods=list(methods), name=name)


def region_name(code: str | None) -> str:
    if not code:
        return "—"
    region = regions.get(code)
    return region.name if region else code


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//evil.example` or `https://...`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def switch_language(ctx: Ctx, lang: str) -> None:
    if lang in ("id", "en") and lang != ctx.data.lang:
        ctx.set_session(replace(ctx.data, lang=lang))
