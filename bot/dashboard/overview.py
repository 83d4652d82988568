"""The overview: the funnel by region and by week, progress toward the target and the weekly pace
(targets.py: the yearly target over 52 weeks with this week's actual, by area and coordinator),
who is waiting. The charts give each stage one colour (charts.STAGES); tables scroll or stack on a phone.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from starlette.responses import Response

from bot.dashboard import charts, queries
from bot.dashboard import targets as pace
from bot.dashboard.web import Ctx, Dashboard, region_name
from bot.settings import parse_targets_by_region
from content import regions
from storage import scope


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    async def overview(ctx: Ctx) -> Response:
        settings = dash.runtime.settings
        now = datetime.now(UTC)
        areas = ctx.areas
        lang = ctx.lang
        start_of_year = datetime(now.astimezone(dash.tz).year, 1, 1, tzinfo=dash.tz).astimezone(UTC)
        hours = settings.followup_hours
        targets = {
            code: target
            for code, target in parse_targets_by_region(settings.targets_by_region).items()
            if scope.covers(areas, code)
        }
        only = ctx.staff.id if ctx.staff and ctx.staff.role == "coordinator" else None
        db = dash.runtime.db

        async def in_session(fn, *args):  # type: ignore[no-untyped-def]
            async with db.session() as session:
                return await fn(session, *args)

        # Independent aggregates: each on its own connection, so the database runs them side by side.
        office = ctx.staff is not None and ctx.staff.role in ("admin", "staff")
        (
            (total, by_region),
            weeks,
            (waiting_count, waiting),
            registered,
            coordinators,
            names,
            referrers,
            campaigns,
            unassigned,
            week,
        ) = await asyncio.gather(
            in_session(queries.funnel_by_region, areas),
            in_session(queries.funnel_by_week, areas, dash.tz, now),
            in_session(queries.waiting, areas, now - timedelta(hours=hours)),
            in_session(queries.registered_by_area, start_of_year, areas, list(targets)),
            in_session(queries.coordinator_results, only),
            in_session(queries.staff_names),
            in_session(queries.top_referrers, areas, dash.runtime.cipher),
            in_session(queries.latest_campaigns, 5) if office else asyncio.sleep(0, []),
            in_session(queries.unassigned_open) if office else asyncio.sleep(0, 0),
            in_session(pace.this_week, pace.week_start(now, dash.tz), areas),
        )
        progress = []
        if settings.target and areas is None:
            progress.append(charts.progress(registered[None], settings.target, ctx.t("target"), lang))
        for code, target in targets.items():
            progress.append(charts.progress(registered[code], target, region_name(code), lang))
        pace_rows = []
        if settings.target and areas is None:
            pace_rows.append(pace.PaceRow(ctx.t("branch_total"), settings.target, week.total, "branch"))
        pace_rows += pace.region_rows(targets, week, region_name, regions.kecamatan_of, areas)
        coordinator_pace = [
            pace.PaceRow(row.staff.name, row.target, week.by_coordinator.get(row.staff.id, 0), "coordinator")
            for row in coordinators
        ]
        monday = pace.week_start(now, dash.tz).astimezone(dash.tz).date()
        series = [ctx.t("conversations"), ctx.t("leads"), ctx.t("contacted"), ctx.t("registered")]
        region_chart = charts.grouped_bars(
            [(region_name(code), (f.conversations, f.leads, f.contacted, f.registered)) for code, f in by_region],
            series,
            ctx.t("by_region"),
            lang,
        )
        week_chart = charts.weekly_columns(
            [(monday.strftime("%d/%m"), (f.leads, f.contacted, f.registered)) for monday, f in weeks],
            series[1:],
            ctx.t("by_week"),
            lang,
            classes=charts.STAGES[1:],  # the same colour for a stage in every chart
        )
        return ctx.render(
            "overview.html",
            total=total,
            by_region=by_region,
            region_chart=region_chart,
            week_chart=week_chart,
            legend=charts.legend(series),
            week_legend=charts.legend(series[1:], charts.STAGES[1:]),
            pace_rows=pace_rows,
            coordinator_pace=coordinator_pace,
            week_from=monday,
            week_to=monday + timedelta(days=6),
            progress=progress,
            waiting_count=waiting_count,
            waiting=waiting,
            hours=settings.followup_hours,
            coordinators=coordinators,
            names=names,
            referrers=[(region_name(code), name, count) for code, name, count in referrers],
            campaigns=campaigns,
            unassigned=unassigned,
        )

    return [dash.route("/", overview)]
