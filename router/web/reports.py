"""报表 (docs/reports.md): the dashboard of KPI cards with their breakdowns, the division heat table,
the per-agency table, the disputes behind a card, the exports of each, and the 大屏 mode for the
centre's wall. Filters live in the URL; every number comes from the same services as the API."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from flask import Response, g, request, url_for
from marshmallow import ValidationError as SchemaError

from router.domain.errors import NotFound, ValidationError
from router.domain.kpis import GROUPS
from router.domain.model import SOURCE_ZH, TIER_NAMES_ZH, Source, Tier
from router.schemas.messages import flatten
from router.schemas.reports import BehindQuery, DivisionsQuery, KpiQuery, ReportQuery
from router.services import tables
from router.services.digest import PERIOD_ZH
from router.services.exports import MIMETYPES, render
from router.services.scope import scope_of
from router.web.blueprint import web
from router.web.pages import page
from router.web.session import requires, svc

GROUP_ZH = {"category": "按类别", "tier": "按层级", "agency": "按承办单位", "source": "按来源", "month": "按月份",
            "division": "按辖区"}
KEYS = ("from", "to", "division", "category", "tier", "source", "agency")
HEAT_FIGURES = (("received", "受理数"), ("flagged", "涉风险"), ("overdue_rate", "超期率"),
                ("local_resolution_rate", "就地化解率"), ("success_rate", "调解成功率"))
HEAT_ZH = {"hot": "偏高", "warm": "关注", "cool": "正常", "none": "无数据"}
CHART_KPIS = ("received", "success_rate", "local_resolution_rate", "timely_ack_rate", "overdue_rate")
EXPORTS = {"kpis": ("kpis", KpiQuery, tables.kpis), "agencies": ("agencies", ReportQuery, tables.agencies),
           "divisions": ("divisions", DivisionsQuery, tables.divisions)}


class BadQuery(Exception):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields


def _today() -> date:
    s = svc()
    return s.ctx.now().astimezone(s.ctx.config.calendar.tz).date()


def here(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """The query as the URL has it, blanks dropped, this month to date by default."""
    out = {k: v for k in (*KEYS, *extra) if (v := request.args.get(k))}
    today = _today()
    out.setdefault("from", today.replace(day=1).isoformat())
    out.setdefault("to", today.isoformat())
    return out


def load(schema: Any, args: dict[str, str]) -> dict[str, Any]:
    try:
        return schema().load(args)
    except SchemaError as e:
        raise BadQuery(flatten(e.messages, zh=True)) from e


def _refused(e: BadQuery | ValidationError | NotFound, args: dict[str, str], title: str = "报表") -> Response:
    """The dashboard again with each message beside its filter, and nothing counted."""
    fields = e.fields if isinstance(e, BadQuery) else {e.field or "_": [e.message_zh]}
    return page("reports/dashboard.html", 422, title=title, errors=fields, args=args, nav="reports",
                **_choices(), report=None, heat=None, group_by=None, screen=False, periods=period_links(args))


def _choices() -> dict[str, Any]:
    s = svc()
    config = s.ctx.config
    return {"categories": [(c.code, c.name) for c in config.ruleset.categories.values()],
            "tiers": [(str(t), TIER_NAMES_ZH[t]) for t in Tier],
            "sources": [(str(x), SOURCE_ZH.get(str(x), str(x))) for x in Source],
            "divisions": [(d.code, d.name) for d in sorted(config.divisions.by_code.values(), key=lambda d: d.code)
                          if (d.level in ("district", "town") and scope_of(g.user).allows(d.code))
                          or d.code == g.user.division],
            "agencies": sorted(s.agency_names().items()), "group_zh": GROUP_ZH, "heat_figures": HEAT_FIGURES,
            "heat_zh": HEAT_ZH, "groups": GROUPS}


def _chart(report: dict[str, Any]) -> str:
    """The breakdown as ECharts data: one series per chart KPI (the table under the chart says the same)."""
    groups = report.get("groups") or []
    series = {code: [] for code in CHART_KPIS}
    for group in groups:
        by = {k["code"]: k for k in group["kpis"]}
        for code in CHART_KPIS:
            series[code].append(by[code]["value"])
    names = {k["code"]: k["name"] for k in report["kpis"]}
    return json.dumps({"labels": [group["name"] for group in groups],
                       "series": [{"code": c, "name": names[c], "data": series[c]} for c in CHART_KPIS]},
                      ensure_ascii=False)


@web.get("/reports")
@requires("supervisor", "admin")
def reports() -> Response:
    args = here(("group_by", "level"))
    args.setdefault("group_by", "category")
    screen = request.args.get("screen") == "1"
    try:
        q = load(KpiQuery, args)
        s = svc()
        report = s.kpi_report(q, g.user)
        level = "village" if q.get("division") and s.ctx.config.divisions.get(q["division"]).level in ("town",
                                                                                                  "village") \
            else "town"  # a village's heat table is its own row
        heat = s.division_report({**{k: v for k, v in q.items() if k != "group_by"}, "level": level}, g.user)
    except (BadQuery, ValidationError) as e:  # a malformed filter, or an unknown division, category, agency
        return _refused(e, args)
    return page("reports/screen.html" if screen else "reports/dashboard.html", title="报表", report=report,
                heat=heat, args=args, group_by=args["group_by"], chart=_chart(report), screen=screen,
                nav="reports", errors={}, periods=period_links(args), **_choices())


@web.get("/reports/agencies")
@requires("supervisor", "admin")
def agencies_page() -> Response:
    args = here()
    try:
        report = svc().agency_report(load(ReportQuery, args), g.user)
    except (BadQuery, ValidationError) as e:
        return _refused(e, args, "承办单位")
    return page("reports/agencies.html", title="承办单位", report=report, args=args, nav="reports", errors={},
                **_choices())


@web.get("/reports/disputes")
@requires("supervisor", "admin")
def behind_page() -> Response:
    args = here(("part", "page"))
    code = request.args.get("kpi", "")
    try:
        page_ = svc().kpi_behind(code, load(BehindQuery, args), g.user)
    except (BadQuery, ValidationError, NotFound) as e:  # an unknown ?kpi= is a bad filter here
        return _refused(e, args)
    kpi = next((k for k in svc().kpi_report(load(KpiQuery, here()), g.user)["kpis"] if k["code"] == code), None)
    return page("reports/behind.html", title="指标明细", behind=page_, kpi=kpi, args=args, code=code,
                nav="reports")


@web.get("/reports/export/<report>")
@requires("supervisor", "admin")
def export(report: str) -> Response:
    if report not in EXPORTS:
        return page("error.html", 404, title="没有这个报表", message="请从报表页面的导出链接进入。")
    name, schema, flatten_ = EXPORTS[report]
    fmt = request.args.get("format", "csv")
    if fmt not in MIMETYPES:
        return page("error.html", 422, title="导出格式有误", message="导出格式只能是 CSV 或 XLSX。")
    args = here(("group_by", "level"))
    s = svc()
    try:
        q = load(schema, args)
        answer = {"kpis": s.kpi_report, "agencies": s.agency_report, "divisions": s.division_report}[report](q, g.user)
    except (BadQuery, ValidationError) as e:
        return _refused(e, args)
    filename = f"{name}-{args['from']}-{args['to']}.{fmt}"
    resp = Response(render(flatten_(answer), fmt, s.ctx.config.calendar.tz), mimetype=MIMETYPES[fmt])
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return resp


def period_links(args: dict[str, str]) -> list[tuple[str, str]]:
    """Quick periods: this month, last month, this year, the last 30 days."""
    today = _today()
    first = today.replace(day=1)
    last_end = first - timedelta(days=1)
    keep = {k: v for k, v in args.items() if k not in ("from", "to")}
    spans = [("本月", first, today), ("上月", last_end.replace(day=1), last_end),
             ("近30天", today - timedelta(days=29), today), ("本年", today.replace(month=1, day=1), today)]
    return [(label, url_for("web.reports", **keep, **{"from": a.isoformat(), "to": b.isoformat()}))
            for label, a, b in spans]


@web.get("/reports/digest")
@requires("supervisor", "admin")
def digest_page() -> Response:
    """研判: a division's digest for a week, a month or a quarter, as a page, a PDF or a CSV."""
    s = svc()
    args = {k: v for k in ("division", "period", "end", "format") if (v := request.args.get(k))}
    errors: dict[str, list[str]] = {}
    end = None
    if args.get("end"):
        try:
            end = date.fromisoformat(args["end"])
        except ValueError:
            errors["end"] = ["不是有效的日期（格式 YYYY-MM-DD）。"]
    if args.get("period") and args["period"] not in PERIOD_ZH:
        errors["period"] = ["周期只能是周、月或季度。"]
    dg = None
    notice = None
    own = s.ctx.config.divisions.get(g.user.division) if g.user.division else None
    if own is not None and own.level == "village" and not args.get("division"):
        notice = "研判简报按乡镇（街道）、区县或市编制；您的账户限于本村（社区），请查阅所属乡镇的研判简报。"
    elif not errors:
        try:
            dg = s.digest(args.get("division"), args.get("period"), end, g.user)
        except ValidationError as e:
            errors[e.field or "division"] = [e.message_zh]
    if dg is not None and args.get("format") in ("pdf", "csv", "xlsx"):
        fmt = args["format"]
        body = [s.digest_pdf(dg)] if fmt == "pdf" else render(tables.digest(dg), fmt, s.ctx.config.calendar.tz)
        resp = Response(body, mimetype="application/pdf" if fmt == "pdf" else MIMETYPES[fmt])
        name = f"digest-{dg['division']}-{dg['from']}-{dg['to']}.{fmt}"
        resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return resp
    tree = s.ctx.config.divisions
    choices = [(d.code, d.name) for d in sorted(tree.by_code.values(), key=lambda d: d.code)
               if d.level in ("city", "district", "town") and scope_of(g.user).allows(d.code)]
    return page("reports/digest.html", 422 if errors else 200, title="研判", dg=dg, args=args, errors=errors,
                notice=notice,
                choices=choices, periods=PERIOD_ZH, nav="reports", here_args={k: v for k, v in args.items()
                                                                               if k != "format"})
