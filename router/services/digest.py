"""The 研判 digest (docs/reports.md §6): what a three-level review meeting looks at for one division and
one period (a town weekly, a district monthly, the city quarterly): counts by category and by the
divisions under it against the previous period of the same length, rising categories, flagged and
overdue disputes, repeat parties, and the agencies with the most returns."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from router.domain.errors import ValidationError
from router.domain.kpis import FIRST_DAY, LAST_DAY
from router.services import agency_report, division_report, warnings
from router.services.context import ServiceContext
from router.services.measures import Filter
from router.services.queues import QueueFilter, queue
from router.services.scope import WHOLE, Scope
from router.store.models import Dispute
from router.store.report_models import DisputeFigures
from router.workflows.dispute import OPEN

PERIOD_BY_LEVEL = {"town": "week", "district": "month", "city": "quarter"}
CHILD_LEVEL = {"city": "district", "district": "town", "town": "village"}
PERIOD_ZH = {"week": "周", "month": "月", "quarter": "季度"}


def period_ending(kind: str, today: date, end: date | None) -> tuple[date, date]:
    """The last whole period before `today` (or the one that ends on or contains `end`)."""
    if kind == "week":  # Monday to Sunday
        last = end or today - timedelta(days=today.weekday() + 1)
        start = last - timedelta(days=last.weekday())
        return start, start + timedelta(days=6)
    if kind == "month":
        ref = end or today.replace(day=1) - timedelta(days=1)
        start = ref.replace(day=1)
        nxt = (start + timedelta(days=32)).replace(day=1)
        return start, nxt - timedelta(days=1)
    ref = end or date(today.year, 3 * ((today.month - 1) // 3) + 1, 1) - timedelta(days=1)
    start = date(ref.year, 3 * ((ref.month - 1) // 3) + 1, 1)
    nxt = date(start.year + (start.month + 3 > 12), (start.month + 2) % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def digest(ctx: ServiceContext, division: str | None, kind: str | None, end: date | None,
           scope: Scope = WHOLE) -> dict[str, Any]:
    if end is not None and not FIRST_DAY <= end <= LAST_DAY:
        raise ValidationError(f"日期须在{FIRST_DAY}至{LAST_DAY}之间", f"a date between {FIRST_DAY} and {LAST_DAY}",
                              field="end")
    tree = ctx.config.divisions
    if division is not None and tree.get(division) is None:
        raise ValidationError(f"辖区代码不存在：{division}", f"unknown division {division!r}", field="division")
    code = scope.narrow(division) or tree.centre.code
    d = tree.get(code)
    if d is None or d.level == "village":
        raise ValidationError("研判只针对乡镇（街道）、区县或市", "a digest is for a town, a district or the city",
                              field="division")
    kind = kind or PERIOD_BY_LEVEL[d.level]
    today = ctx.now().astimezone(ctx.config.calendar.tz).date()
    start, stop = period_ending(kind, today, end)
    f = Filter(start, stop, division=code, division_level=d.level)
    divisions = division_report.report(ctx, f, CHILD_LEVEL[d.level])
    agencies = agency_report.report(ctx, f)["agencies"]
    returns = sorted((a for a in agencies if a["returned"]), key=lambda a: (-a["returned"], a["agency"]))[:5]
    inside = {x.code for x in tree.by_code.values() if any(p.code == code for p in tree.path(x.code))}
    signals = [s for s in warnings.open_signals(ctx)["signals"] if s["kind"] == "repeat_party"]
    with ctx.store.read() as s:
        flagged = s.execute(select(Dispute.id, Dispute.reference, Dispute.category, Dispute.state,
                                   DisputeFigures.alert_flags)
                            .join(DisputeFigures, DisputeFigures.dispute_id == Dispute.id)
                            .where(Dispute.state.in_(OPEN), DisputeFigures.alert_flags.is_not(None),
                                   Dispute.division.in_(inside))
                            .order_by(Dispute.created_at).limit(100)).all()
        where = {i for sig in signals for i in sig["dispute_ids"]}
        repeat_in = set(s.scalars(select(Dispute.id).where(Dispute.id.in_(where), Dispute.division.in_(inside))))
    overdue = queue(ctx, QueueFilter("overdue", division=code, per_page=100))
    names = {c: r.name for c, r in ctx.config.ruleset.categories.items()}
    return {
        "division": code, "name": d.name, "level": d.level, "period": kind, "period_name": PERIOD_ZH[kind],
        "from": start, "to": stop, "previous_from": divisions["previous_from"],
        "previous_to": divisions["previous_to"], "total": divisions["total"], "divisions": divisions["divisions"],
        "rising": [{"category": c, "name": names.get(c, c)} for c in divisions["total"]["rising"]],
        "flagged": [{**r._asdict(), "category_name": names.get(r.category, r.category)} for r in flagged],
        "overdue": overdue["items"], "overdue_total": overdue["total"],
        # The signal's own words count the whole centre's disputes: a scoped reader gets the subtree's.
        "repeat_parties": [{"why": sig["why"] if scope.whole else f"同一当事人在本辖区涉及{n}件纠纷", "disputes": n}
                           for sig in signals if (n := len(set(sig["dispute_ids"]) & repeat_in))],
        "top_returns": [{"agency": a["agency"], "name": a["name"], "returned": a["returned"], "offered": a["offered"]}
                        for a in returns],
    }
