"""Per division (docs/reports.md §4): each town (or village) of the area with its counts by category,
flagged disputes and rates, against the previous period of the same length, rising categories
marked, and the heat classes the division heat table colours its cells with (computed here)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from router.domain.divisions import Division
from router.services.context import ServiceContext
from router.services.kpis import city_districts, figure, filters_of, tallies
from router.services.measures import DF, Filter, where

NAMES = ["received", "flagged", "concluded", "resolved", "resolved_locally", "acknowledged", "overdue"]


def previous(f: Filter) -> Filter:
    days = (f.end - f.start).days + 1
    return replace(f, start=f.start - timedelta(days=days), end=f.start - timedelta(days=1))


def under(ctx: ServiceContext, code: str, level: str) -> list[Division]:
    """Every division at `level` under (or equal to) `code`, by code."""
    tree, out = ctx.config.divisions, []
    for d in tree.by_code.values():
        if d.level == level and any(p.code == code for p in tree.path(d.code)):
            out.append(d)
    return sorted(out, key=lambda d: d.code)


def _categories(ctx: ServiceContext, f: Filter, level: str) -> dict[Any, dict[str, int]]:
    col = DF.c[level]
    q = (select(col.label("k"), DF.c.category, func.count().label("n"))
         .where(where(f, DF, "registered_on", city_districts(ctx, f))).group_by(col, DF.c.category))
    out: dict[Any, dict[str, int]] = defaultdict(dict)
    with ctx.store.read() as s:
        for row in s.execute(q):
            out[row.k][row.category] = int(row.n)
    return out


def report(ctx: ServiceContext, f: Filter, level: str) -> dict[str, Any]:
    tree = ctx.config.divisions
    scope = f.division or tree.centre.code
    # Without a division the report is the centre's area: its total counts nothing outside it.
    scoped = f if f.division else replace(f, division=scope, division_level=tree.get(scope).level)
    grouped = replace(scoped, group_by="division", level=level)
    before = previous(grouped)
    now_v, prev_v = tallies(ctx, grouped, NAMES), tallies(ctx, before, ["received"])
    now_c, prev_c = _categories(ctx, grouped, level), _categories(ctx, before, level)
    th, names = ctx.config.thresholds, {c: r.name for c, r in ctx.config.ruleset.categories.items()}

    def row(code: str, name: str, v: dict[str, int], pv: dict[str, int], cats: dict[str, int],
            pcats: dict[str, int]) -> dict[str, Any]:
        by_cat = [{"category": c, "name": names.get(c, c), "count": cats.get(c, 0), "previous": pcats.get(c, 0),
                   "rising": th.rising(cats.get(c, 0), pcats.get(c, 0))}
                  for c in sorted(set(cats) | set(pcats), key=lambda c: (-cats.get(c, 0), c))]
        return {"division": code, "name": name, "received": v.get("received", 0),
                "previous_received": pv.get("received", 0), "flagged": v.get("flagged", 0), "by_category": by_cat,
                "rising": [c["category"] for c in by_cat if c["rising"]],
                "overdue_rate": figure("overdue_rate", v, ctx),
                "local_resolution_rate": figure("local_resolution_rate", v, ctx),
                "success_rate": figure("success_rate", v, ctx)}

    rows = [row(d.code, d.name, now_v.get(d.code, {}), prev_v.get(d.code, {}), now_c.get(d.code, {}),
                prev_c.get(d.code, {})) for d in under(ctx, scope, level)]
    total = row(scope, ctx.config.divisions.get(scope).name if ctx.config.divisions.get(scope) else scope,
                _sum(now_v.values()), _sum(prev_v.values()), _sum(now_c.values()), _sum(prev_c.values()))
    heat(rows, dict(th.targets))
    total["heat"] = {}
    return {"from": f.start, "to": f.end, "previous_from": before.start, "previous_to": before.end, "level": level,
            "filters": filters_of(f), "divisions": rows, "total": total}


def _sum(dicts: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for d in dicts:
        for k, v in d.items():
            out[k] += v
    return out


def heat(rows: list[dict[str, Any]], targets: dict[str, float]) -> None:
    """hot | warm | cool | none per figure: counts against the hottest division (two thirds of it or
    more is hot, a third warm), rates against their target (a miss by up to 10 points, or up to twice
    a ceiling, is warm); none where there is no value."""
    for row in rows:
        row["heat"] = {}
    for key in ("received", "flagged"):
        top = max((r[key] for r in rows), default=0)
        for r in rows:
            share = r[key] / top if top else 0
            r["heat"][key] = "hot" if share >= 2 / 3 else "warm" if share >= 1 / 3 else "cool"
    for key in ("overdue_rate", "local_resolution_rate", "success_rate"):
        target = targets.get(key)
        for r in rows:
            v = r[key]["value"]
            if v is None or target is None:
                r["heat"][key] = "none"
            elif key == "overdue_rate":
                r["heat"][key] = "cool" if v <= target else "warm" if v <= 2 * target else "hot"
            else:
                r["heat"][key] = "cool" if v >= target else "warm" if v >= target - 0.1 else "hot"
