"""Per agency (docs/reports.md §3): what each agency was given and what it did with it in the period,
over every handoff it held (lead, assisting or confirming), with its rates ranked among the agencies
that had at least `ranking_min_n` in the period. 推诿 shows as returns."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select

from router.services.context import ServiceContext
from router.services.kpis import city_districts, figure, filters_of
from router.services.measures import FU, HF, PARTS, Filter, handoff_predicates, where

RANKED = ("success_rate", "timely_ack_rate", "on_time_completion_rate", "satisfaction_rate")


def _seconds(ctx: ServiceContext, later: Any, earlier: Any) -> ColumnElement[Any]:
    if ctx.store.engine.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _sum(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((cond, 1), else_=0))


def report(ctx: ServiceContext, f: Filter) -> dict[str, Any]:
    hf, p = HF.c, handoff_predicates(ctx.now())
    children = city_districts(ctx, f)
    lead = hf.role == "lead"
    queries = {
        "offered_on": {"offered": func.count(), "ack_decided": _sum(p["ack_decided"]),
                       "ack_in_time": _sum(p["acked_in_time"])},
        "acked_on": {"acknowledged": func.count(), "overdue": _sum(p["late"])},
        "ended_on": {"returned": _sum(hf.end_state == "returned"), "expired": _sum(hf.end_state == "expired"),
                     "undeliverable": _sum(hf.end_state == "undeliverable")},
        "outcome_on": {"outcomes": _sum(lead),
                       "concluded": _sum(and_(lead, hf.outcome_result.in_(["agreement", "failed"]))),
                       "resolved": _sum(and_(lead, hf.outcome_result == "agreement")),
                       "in_time": _sum(and_(lead, p["outcome_in_time"]))},
    }
    values: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with ctx.store.read() as s:
        for on, cols in queries.items():
            q = select(hf.agency, *(c.label(n) for n, c in cols.items())).where(where(f, HF, on, children))
            for row in s.execute(q.group_by(hf.agency)):
                for n in cols:
                    values[row.agency][n] = int(row._mapping[n] or 0)
        fu = FU.c
        for row in s.execute(select(fu.agency, func.count().label("n"), _sum(fu.satisfied).label("ok"))
                             .where(where(f, FU, "recorded_on", children)).group_by(fu.agency)):
            if row.agency:
                values[row.agency]["follow_ups"], values[row.agency]["satisfied"] = int(row.n), int(row.ok or 0)
        durations = {"to_acknowledge": _durations(ctx, s, f, "acked_on", hf.acknowledged_at, children),
                     "to_outcome": _durations(ctx, s, f, "outcome_on", hf.outcome_at, children)}
    registry = ctx.registry().by_code
    rows = []
    for code in sorted(values):
        v, info = values[code], registry.get(code)
        rows.append({
            "agency": code, "name": info.name if info else code, "body_type": str(info.body_type) if info else None,
            "tier": str(info.tier) if info else None,
            **{n: v.get(n, 0) for n in ("offered", "acknowledged", "returned", "expired", "undeliverable", "overdue")},
            **{k: d.get(code, {"median_s": None, "p90_s": None}) for k, d in durations.items()},
            "success_rate": _rate(ctx, "success_rate", v.get("resolved", 0), v.get("concluded", 0)),
            "timely_ack_rate": _rate(ctx, "timely_ack_rate", v.get("ack_in_time", 0), v.get("ack_decided", 0)),
            "on_time_completion_rate": _rate(ctx, "on_time_completion_rate", v.get("in_time", 0), v.get("outcomes", 0)),
            "satisfaction_rate": _rate(ctx, "satisfaction_rate", v.get("satisfied", 0), v.get("follow_ups", 0)),
        })
    _rank(rows, ctx.config.thresholds.ranking_min_n)
    return {"from": f.start, "to": f.end, "filters": filters_of(f),
            "ranking_min_n": ctx.config.thresholds.ranking_min_n, "agencies": rows}


def _rate(ctx: ServiceContext, code: str, num: int, den: int) -> dict[str, Any]:
    names = PARTS[code]
    return figure(code, {names[0]: num, names[1]: den}, ctx)


def _rank(rows: list[dict[str, Any]], min_n: int) -> None:
    for row in rows:
        row["ranks"] = {}
    for code in RANKED:
        eligible = [r for r in rows if r[code]["value"] is not None and r[code]["denominator"] >= min_n]
        eligible.sort(key=lambda r: (-r[code]["value"], -r[code]["denominator"], r["agency"]))
        for i, r in enumerate(eligible, start=1):
            r["ranks"][code] = i


def _durations(ctx: ServiceContext, s: Any, f: Filter, on: str, end: Any,
               children: list[str] | None) -> dict[str, dict[str, float | None]]:
    """Median and p90 seconds from offer to `end`, per agency: in SQL on PostgreSQL, here on SQLite."""
    hf = HF.c
    secs = _seconds(ctx, end, hf.offered_at)
    cond = where(f, HF, on, children)
    if ctx.store.engine.dialect.name == "postgresql":
        q = select(hf.agency, func.percentile_cont(0.5).within_group(secs).label("m"),
                   func.percentile_cont(0.9).within_group(secs).label("p")).where(cond).group_by(hf.agency)
        return {r.agency: {"median_s": round(float(r.m), 1), "p90_s": round(float(r.p), 1)} for r in s.execute(q)}
    by: dict[str, list[float]] = defaultdict(list)
    for agency, x in s.execute(select(hf.agency, secs).where(cond)):
        by[agency].append(float(x))
    return {a: {"median_s": round(statistics.median(xs), 1), "p90_s": round(_p90(xs), 1)} for a, xs in by.items()}


def _p90(xs: list[float]) -> float:
    """The same interpolation as PostgreSQL's percentile_cont."""
    xs = sorted(xs)
    pos = 0.9 * (len(xs) - 1)
    lo = int(pos)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (pos - lo)
