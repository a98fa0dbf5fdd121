"""The KPI report (docs/reports.md §1) and the disputes behind any of its figures.

One query per (figures table, date column) computes every count that needs it, grouped when asked;
the totals are the sums of the groups, so a breakdown always adds up to the card above it.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select

from router.domain.errors import NotFound, ValidationError
from router.domain.kpis import KPI_BY_CODE, KPIS
from router.domain.model import SOURCE_ZH, TIER_NAMES_ZH, Tier
from router.services.context import ServiceContext
from router.services.measures import PARTS, Count, Filter, counts, group_key, tally, where
from router.store.models import Dispute

TOTAL = "__total__"


def city_districts(ctx: ServiceContext, f: Filter) -> list[str] | None:
    if f.division and f.division_level == "city":
        return [d.code for d in ctx.config.divisions.children(f.division)]
    return None


def tallies(ctx: ServiceContext, f: Filter, names: list[str]) -> dict[Any, dict[str, Any]]:
    """{group key: {count name: value}}, one query per table and date column."""
    every = counts(ctx.now())
    by_source: dict[tuple[str, str], list[str]] = defaultdict(list)
    for n in names:
        by_source[(every[n].table.name, every[n].on)].append(n)
    dialect = ctx.store.engine.dialect.name
    children = city_districts(ctx, f)
    out: dict[Any, dict[str, Any]] = defaultdict(dict)
    with ctx.store.read() as s:
        for (_, on), group in by_source.items():
            table = every[group[0]].table
            key = group_key(f, table, on, dialect)
            cols = [tally(every[n]).label(n) for n in group]
            q = select(*([key.label("k")] if key is not None else []), *cols).select_from(table)
            q = q.where(where(f, table, on, children))
            if key is not None:
                q = q.group_by(key)
            for row in s.execute(q):
                m = row._mapping
                k = m["k"] if key is not None else TOTAL
                for n in group:
                    out[k][n] = m[n] or 0
    return out


def figure(code: str, values: dict[str, Any], ctx: ServiceContext) -> dict[str, Any]:
    kpi, (num, den) = KPI_BY_CODE[code], PARTS[code]
    numerator = values.get(num, 0)
    item: dict[str, Any] = {"code": code, "name": kpi.name_zh, "name_en": kpi.name_en, "kind": kpi.kind}
    if den is None:
        item["value"] = str(Decimal(numerator).quantize(Decimal("0.01"))) if kpi.kind == "sum" else int(numerator)
        item["n"] = int(values.get("concluded" if kpi.kind == "sum" else num, 0)) if kpi.kind != "sum" else None
        return item
    denominator = int(values.get(den, 0))
    value = round(int(numerator) / denominator, 4) if denominator else None
    thresholds = ctx.config.thresholds
    item.update(numerator=int(numerator), denominator=denominator, n=denominator, value=value,
                target=thresholds.targets.get(code), meets_target=thresholds.meets(code, value))
    return item


def needed(codes: list[str]) -> list[str]:
    return sorted({p for c in codes for p in PARTS[c] if p})


def report(ctx: ServiceContext, f: Filter, codes: list[str] | None = None) -> dict[str, Any]:
    codes = codes or [k.code for k in KPIS]
    values = tallies(ctx, f, needed(codes))
    totals: dict[str, Any] = defaultdict(int)
    for v in values.values():
        for n, x in v.items():
            totals[n] += x
    out: dict[str, Any] = {"from": f.start, "to": f.end, "filters": filters_of(f),
                           "kpis": [figure(c, totals, ctx) for c in codes]}
    if f.group_by:
        names = group_names(ctx, f.group_by)
        keys = sorted(values, key=lambda k: (k is None, str(k)))
        out["group_by"] = f.group_by
        out["groups"] = [{"key": k, "name": names.get(k, k) if k is not None else "未定",
                          "kpis": [figure(c, values[k], ctx) for c in codes]} for k in keys]
    return out


def filters_of(f: Filter) -> dict[str, Any]:
    return {"division": f.division, "category": f.category, "tier": f.tier, "source": f.source,
            "agency": f.agency}


def group_names(ctx: ServiceContext, group_by: str) -> dict[Any, str]:
    if group_by == "category":
        return {c: cat.name for c, cat in ctx.config.ruleset.categories.items()}
    if group_by == "tier":
        return {str(t): TIER_NAMES_ZH[t] for t in Tier}
    if group_by == "agency":
        return {code: a.name for code, a in ctx.registry().by_code.items()}
    if group_by == "source":
        return {str(k): v for k, v in SOURCE_ZH.items()}
    if group_by == "division":
        return {code: d.name for code, d in ctx.config.divisions.by_code.items()}
    return {}


# --------------------------------------------------------------------------- the disputes behind a figure
def behind(ctx: ServiceContext, f: Filter, code: str, part: str, page: int, per_page: int) -> dict[str, Any]:
    """The disputes counted in a KPI's numerator (or denominator), newest first, a page at a time."""
    if code not in PARTS:
        raise NotFound(f"未知的指标：{code}", f"unknown KPI {code!r}", field="kpi")  # a path names it: 404
    num, den = PARTS[code]
    name = num if part == "numerator" else den
    if name is None:
        raise ValidationError("该指标没有分母", "this KPI has no denominator", field="part")
    c: Count = counts(ctx.now())[name]
    cond = and_(where(f, c.table, c.on, city_districts(ctx, f)), c.where)
    ids = select(c.table.c.dispute_id).where(cond).distinct().subquery()
    with ctx.store.read() as s:
        total = s.scalar(select(func.count()).select_from(ids)) or 0
        rows = s.execute(select(Dispute.id, Dispute.reference, Dispute.category, Dispute.state, Dispute.created_at,
                                Dispute.lead_agency, Dispute.division)
                         .join(ids, ids.c.dispute_id == Dispute.id)
                         .order_by(Dispute.created_at.desc(), Dispute.id).offset((page - 1) * per_page)
                         .limit(per_page)).all()
    return {"kpi": code, "part": part, "from": f.start, "to": f.end, "filters": filters_of(f),
            "total": total, "page": page, "per_page": per_page,
            "items": [dict(r._mapping) for r in rows]}
