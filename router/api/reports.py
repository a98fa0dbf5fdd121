"""Reports for supervisors and admins (docs/api.md §10): JSON by default, CSV with `Accept: text/csv`
or `?format=csv`, XLSX with `?format=xlsx` (docs/reports.md §7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Response, request

from router.api.auth import current_actor, require_roles, services
from router.api.blueprint import Blueprint
from router.schemas.reports import (
    AgenciesOut,
    BehindOut,
    BehindQuery,
    DivisionsOut,
    DivisionsQuery,
    KpiQuery,
    KpiReportOut,
    ReportQuery,
    WarningsOut,
    WarningsQuery,
)
from router.services import tables
from router.services.exports import MIMETYPES, Table, render, wants

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="统计报表与预警")
REPORTERS = ("supervisor", "admin")


def answer(report: dict[str, Any], flatten: Callable[[dict[str, Any]], Table], name: str) -> Any:
    fmt = wants(request.args.get("format"), request.headers.get("Accept"))
    if fmt == "json":
        return report
    tz = services().ctx.config.calendar.tz
    filename = f"{name}-{report.get('from', '')}-{report.get('to', '')}.{fmt}".replace("--.", ".")
    resp = Response(render(flatten(report), fmt, tz), mimetype=MIMETYPES[fmt])
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return resp


@blp.get("/kpis")
@require_roles(*REPORTERS)
@blp.arguments(KpiQuery, location="query")
@blp.answers(200, KpiReportOut)
@blp.tables(KpiReportOut, MIMETYPES)
@blp.fails(401, 403, 422)
def kpis(q: dict[str, Any]) -> Any:
    """Every KPI of the period with numerator, denominator and target; `group_by` breaks them down."""
    return answer(services().kpi_report(q, current_actor()), tables.kpis, "kpis")


@blp.get("/kpis/<string:code>/disputes")
@require_roles(*REPORTERS)
@blp.arguments(BehindQuery, location="query")
@blp.answers(200, BehindOut)
@blp.tables(BehindOut, MIMETYPES)
@blp.fails(401, 403, 404, 422)
def behind(q: dict[str, Any], code: str) -> Any:
    """The disputes a KPI's numerator (or denominator) counts, newest first."""
    return answer(services().kpi_behind(code, q, current_actor()), tables.behind, f"kpi-{code}")


@blp.get("/agencies")
@require_roles(*REPORTERS)
@blp.arguments(ReportQuery, location="query")
@blp.answers(200, AgenciesOut)
@blp.tables(AgenciesOut, MIMETYPES)
@blp.fails(401, 403, 422)
def agencies(q: dict[str, Any]) -> Any:
    """Per agency: offered, acknowledged, returned, expired, undeliverable, overdue, times and rates."""
    return answer(services().agency_report(q, current_actor()), tables.agencies, "agencies")


@blp.get("/divisions")
@require_roles(*REPORTERS)
@blp.arguments(DivisionsQuery, location="query")
@blp.answers(200, DivisionsOut)
@blp.tables(DivisionsOut, MIMETYPES)
@blp.fails(401, 403, 422)
def divisions(q: dict[str, Any]) -> Any:
    """Per town (or village): counts by category, flagged, rates, against the previous period."""
    return answer(services().division_report(q, current_actor()), tables.divisions, "divisions")


@blp.get("/warnings")
@require_roles(*REPORTERS)
@blp.arguments(WarningsQuery, location="query")
@blp.answers(200, WarningsOut)
@blp.tables(WarningsOut, MIMETYPES)
@blp.fails(401, 403, 422)
def warnings(q: dict[str, Any]) -> Any:
    """The early-warning signals that hold now, each with why it fired and the disputes behind it."""
    return answer(services().warnings_report(q.get("kind"), current_actor()), tables.warnings, "warnings")
