"""Each KPI as SQL over the figures tables (docs/reports.md §1): a numerator and a denominator, each a
`Count` of rows of one table whose date column falls in the period and that match a predicate.

One description serves both the report (SUM(CASE WHEN ...) per count, one query per table and date
column) and the list of disputes behind a figure (the same predicate as a WHERE), so the number on a
card and the disputes it links to can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, false, func, literal, not_, or_, true

from router.domain.figures import LOCAL_TIERS
from router.domain.kpis import KPIS
from router.store.report_models import DisputeFigures, FollowUp, HandoffFigures

DF, HF, FU = DisputeFigures.__table__, HandoffFigures.__table__, FollowUp.__table__


@dataclass(frozen=True)
class Count:
    """Rows of `table` whose `on` date is in the period and that satisfy `where` (counted, or `sums` added up)."""

    table: Table
    on: str
    where: ColumnElement[bool]
    sums: ColumnElement[Any] | None = None


@dataclass(frozen=True)
class Filter:
    start: date
    end: date
    division: str | None = None
    division_level: str | None = None  # the level of `division` in the tree
    category: str | None = None
    tier: str | None = None
    source: str | None = None
    agency: str | None = None
    group_by: str | None = None
    level: str | None = None  # the level that group_by=division groups at


def handoff_predicates(now: datetime) -> dict[str, ColumnElement[bool]]:
    """What a handoff row is, now: the predicates the KPIs and the agency report share."""
    hf = HF.c
    at_now = literal(now, HF.c.handle_due.type)
    # Never NULL (they are negated): a NULL column makes them false, not unknown.
    recalled_early = and_(hf.end_state.is_not(None), hf.end_state == "recalled", hf.acknowledged_at.is_(None),
                          or_(hf.ack_due.is_(None), hf.ended_at < hf.ack_due))
    # Still waiting and not yet due: neither in time nor late, so not counted either way yet.
    undecided = and_(hf.acknowledged_at.is_(None), hf.ended_at.is_(None), hf.ack_due.is_not(None),
                     hf.ack_due > at_now)
    running = and_(hf.outcome_at.is_(None), hf.ended_at.is_(None), not_(hf.stopped))
    return {
        "ack_decided": and_(not_(recalled_early), not_(undecided)),
        "acked_in_time": and_(hf.acknowledged_at.is_not(None),
                              or_(hf.ack_due.is_(None), hf.acknowledged_at <= hf.ack_due)),
        "outcome_in_time": or_(hf.handle_due.is_(None), hf.outcome_at <= hf.handle_due),
        "late": and_(hf.handle_due.is_not(None), or_(
            hf.outcome_at > hf.handle_due,
            and_(hf.outcome_at.is_(None), hf.ended_at > hf.handle_due),
            and_(running, hf.handle_due < at_now))),
    }


def counts(now: datetime) -> dict[str, Count]:
    """Every count the KPIs divide, by name; `now` decides what is overdue today."""
    df, hf, fu = DF.c, HF.c, FU.c
    lead = hf.role == "lead"
    resolved = df.resolved_on.is_not(None)
    p = handoff_predicates(now)
    return {
        "received": Count(DF, "registered_on", true()),
        "online": Count(DF, "registered_on", df.source == "online"),
        "flagged": Count(DF, "registered_on", df.flagged),
        "concluded": Count(DF, "concluded_on", true()),
        "resolved": Count(DF, "concluded_on", resolved),
        "resolved_locally": Count(DF, "concluded_on", and_(resolved, df.tier.in_([str(t) for t in LOCAL_TIERS]))),
        "fulfilled": Count(DF, "concluded_on", and_(resolved, df.fulfilled_on.is_not(None))),
        "amount": Count(DF, "concluded_on", resolved, sums=func.coalesce(df.agreed_amount, df.claimed, 0)),
        "prevented": Count(DF, "concluded_on", and_(resolved, df.escalation_risk)),
        "diverted": Count(DF, "concluded_on", and_(resolved, df.source == "court")),
        "confirmed": Count(DF, "confirmed_on", true()),
        "follow_ups": Count(FU, "recorded_on", true()),
        "satisfied": Count(FU, "recorded_on", fu.satisfied),
        "offered": Count(HF, "offered_on", lead),
        "ack_decided": Count(HF, "offered_on", and_(lead, p["ack_decided"])),
        "acked_in_time": Count(HF, "offered_on", and_(lead, p["acked_in_time"])),
        "outcomes": Count(HF, "outcome_on", lead),
        "outcomes_in_time": Count(HF, "outcome_on", and_(lead, p["outcome_in_time"])),
        "acknowledged": Count(HF, "acked_on", lead),
        "overdue": Count(HF, "acked_on", and_(lead, p["late"])),
        "returned": Count(HF, "ended_on", and_(lead, hf.end_state == "returned")),
    }


# KPI code -> (numerator, denominator); a count or a sum has no denominator.
PARTS: dict[str, tuple[str, str | None]] = {
    "received": ("received", None), "concluded": ("concluded", None),
    "success_rate": ("resolved", "concluded"), "local_resolution_rate": ("resolved_locally", "concluded"),
    "fulfilment_rate": ("fulfilled", "resolved"), "timely_ack_rate": ("acked_in_time", "ack_decided"),
    "on_time_completion_rate": ("outcomes_in_time", "outcomes"), "overdue_rate": ("overdue", "acknowledged"),
    "return_rate": ("returned", "offered"), "satisfaction_rate": ("satisfied", "follow_ups"),
    "judicial_confirmations": ("confirmed", None), "amount_resolved": ("amount", None),
    "online_share": ("online", "received"), "prevented_escalations": ("prevented", None),
    "litigation_diverted": ("diverted", None),
}
assert set(PARTS) == {k.code for k in KPIS}


def where(f: Filter, table: Table, on: str, tree_children: list[str] | None = None) -> ColumnElement[bool]:
    """The period on `on` and every filter, on one figures table."""
    c = table.c
    conds: list[ColumnElement[bool]] = [c[on] >= f.start, c[on] <= f.end]
    if f.division:
        if f.division_level in ("district", "town", "village"):
            conds.append(c[f.division_level] == f.division)
        elif tree_children is not None:  # the city: its districts
            conds.append(c.district.in_(tree_children) if tree_children else false())
    for name in ("category", "tier", "source", "agency"):
        value = getattr(f, name)
        if value:
            conds.append(c[name] == value)
    return and_(*conds)


def group_key(f: Filter, table: Table, on: str, dialect: str) -> ColumnElement[Any] | None:
    if f.group_by is None:
        return None
    if f.group_by == "month":
        col = table.c[on]
        return func.to_char(col, "YYYY-MM") if dialect == "postgresql" else func.strftime("%Y-%m", col)
    if f.group_by == "division":
        return table.c[f.level or "town"]
    return table.c[f.group_by]


def tally(count: Count) -> ColumnElement[Any]:
    return func.sum(case((count.where, count.sums if count.sums is not None else 1), else_=0))
