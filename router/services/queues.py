"""The supervisors' queues (督办台): what needs a supervisor before anything else.

待督办指定 (needs a supervisor), 疑似重复 (registrations held for 并单), 联动申请 (link requests
waiting for approval), 逾期未履行 (agreements past their date), 超期 (an open handoff past its
deadline), 临期 today, tomorrow and this week (an open handoff whose deadline falls then), 无法送达
(undeliverable handoffs of open disputes) and 待回访 (follow-up visits, by their due date). A
handoff runs on the deadline of its state: the acknowledgement deadline while it waits for 签收,
the handling deadline after (not while its clock is stopped). Every queue is one indexed query and
a count, a page at a time, filtered by agency, tier, category and division (its subtree).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from router.domain.errors import ValidationError
from router.domain.registry import division_prefix
from router.schemas.common import dump
from router.schemas.queues import QueueOut
from router.services.context import ServiceContext
from router.services.scope import WHOLE, Scope
from router.store.models import Dispute, Handoff, LinkRequest, Timer
from router.workflows.dispute import OPEN, DisputeState
from router.workflows.handoff import HANDLING, WAITING, HandoffState
from router.workflows.link import LinkState

QUEUES = ("needs_supervisor", "overdue", "due_today", "due_tomorrow", "due_week", "undeliverable", "follow_up",
          "duplicates", "links", "unfulfilled")
# A row per dispute, not per handoff (联动申请: one per dispute with a link request waiting, oldest first).
DISPUTE_QUEUES = frozenset({"needs_supervisor", "follow_up", "duplicates", "links", "unfulfilled"})
SORTS = ("due", "reference", "category", "agency", "updated")
_QUEUE = QueueOut()


@dataclass(frozen=True)
class QueueFilter:
    queue: str = "overdue"
    agency: str | None = None
    tier: str | None = None
    category: str | None = None
    division: str | None = None
    sort: str = "due"
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class Row:
    """One line of a queue: the dispute, the handoff it is about (if any) and the date that orders it."""

    dispute: Dispute
    handoff: Handoff | None
    due: datetime | None


def clock_runs() -> ColumnElement[bool]:
    """A handling clock stopped for an excluded interval is not running late."""
    return Handoff.deadline_rules["suspended_at"].as_string().is_(None)


def deadline_between(lo: datetime | None, hi: datetime) -> ColumnElement[bool]:
    """An open handoff whose running deadline is in [lo, hi): its ack_due while it waits for 签收,
    its handle_due while it is handled. With lo None: every deadline before hi (overdue)."""
    def within(col: Any) -> ColumnElement[bool]:
        return col < hi if lo is None else and_(col >= lo, col < hi)

    return or_(and_(Handoff.state.in_(WAITING), within(Handoff.ack_due)),
               and_(Handoff.state.in_(HANDLING), within(Handoff.handle_due), clock_runs()))


def _windows(ctx: ServiceContext, now: datetime) -> dict[str, tuple[datetime | None, datetime]]:
    tz = ctx.config.calendar.tz
    today = now.astimezone(tz).date()
    midnight = datetime.combine(today + timedelta(days=1), time.min, tz)
    week_end = datetime.combine(today + timedelta(days=7 - today.weekday()), time.min, tz)  # next Monday
    return {"overdue": (None, now), "due_today": (now, midnight), "due_tomorrow": (midnight, midnight + timedelta(1)),
            "due_week": (now, week_end)}


def _handoff_rows(ctx: ServiceContext, f: QueueFilter, now: datetime) -> Select[Any]:
    if f.queue == "undeliverable":  # the newest first: what just failed to reach its agency
        return (select(Handoff, Dispute, Handoff.updated_at.label("due")).join(Handoff.dispute)
                .where(Handoff.state == HandoffState.UNDELIVERABLE, Dispute.state.in_(OPEN)))
    running = case((Handoff.state.in_(WAITING), Handoff.ack_due), else_=Handoff.handle_due)
    lo, hi = _windows(ctx, now)[f.queue]
    return select(Handoff, Dispute, running.label("due")).join(Handoff.dispute).where(deadline_between(lo, hi))


def _dispute_rows(f: QueueFilter, counting: bool = False) -> Select[Any]:
    if f.queue == "follow_up" and counting:  # at most one pending follow-up timer: the join adds no rows
        return select(Dispute.id).where(Dispute.state == DisputeState.FOLLOW_UP)
    if f.queue == "follow_up":
        pending = and_(Timer.dispute_id == Dispute.id, Timer.kind == "follow_up_due", Timer.fired_at.is_(None),
                       Timer.cancelled_at.is_(None))
        return (select(Dispute, Timer.due_at.label("due")).outerjoin(Timer, pending)
                .where(Dispute.state == DisputeState.FOLLOW_UP))
    if f.queue == "links":
        waiting = (select(LinkRequest.dispute_id, func.min(LinkRequest.created_at).label("due"))
                   .where(LinkRequest.state == LinkState.PENDING).group_by(LinkRequest.dispute_id).subquery())
        if counting:
            return select(waiting.c.dispute_id).join(Dispute, Dispute.id == waiting.c.dispute_id)
        return select(Dispute, waiting.c.due).join(waiting, waiting.c.dispute_id == Dispute.id)
    state = {"duplicates": DisputeState.HELD_DUPLICATE,
             "unfulfilled": DisputeState.UNFULFILLED}.get(f.queue, DisputeState.NEEDS_SUPERVISOR)
    return select(Dispute, Dispute.updated_at.label("due")).where(Dispute.state == state)


def _filtered(q: Select[Any], f: QueueFilter, by_handoff: bool) -> Select[Any]:
    if f.agency:
        q = q.where(Handoff.agency_code == f.agency) if by_handoff else q.where(Dispute.lead_agency == f.agency)
    if f.tier:
        q = q.where(Dispute.tier == f.tier)
    if f.category:
        q = q.where(Dispute.category == f.category)
    if f.division:
        q = q.where(Dispute.division.startswith(division_prefix(f.division)))
    return q


def _ordered(q: Select[Any], f: QueueFilter, by_handoff: bool) -> Select[Any]:
    key, desc = f.sort.lstrip("-"), f.sort.startswith("-")
    col: Any = {"reference": Dispute.reference, "category": Dispute.category, "updated": Dispute.updated_at,
                "agency": Handoff.agency_code if by_handoff else Dispute.lead_agency}.get(key)
    order = [col.desc() if desc else col] if col is not None else []
    due = q.selected_columns["due"]
    order.append(due.desc() if desc and col is None else due)
    return q.order_by(*order, Dispute.id)


def _check(ctx: ServiceContext, f: QueueFilter) -> None:
    if f.queue not in QUEUES:
        raise ValidationError(f"未知的队列：{f.queue}", f"unknown queue {f.queue!r}", field="queue")
    if f.sort.lstrip("-") not in SORTS:
        raise ValidationError(f"不能按 {f.sort} 排序", f"cannot sort by {f.sort!r}", field="sort")
    if f.category and f.category not in ctx.config.ruleset.categories:
        raise ValidationError(f"未知的纠纷类型：{f.category}", f"unknown category {f.category!r}", field="category")
    if f.division and ctx.config.divisions.get(f.division) is None:
        raise ValidationError(f"不在本中心辖区的区划代码：{f.division}", f"unknown division {f.division!r}",
                              field="division")


def queue(ctx: ServiceContext, f: QueueFilter, scope: Scope = WHOLE) -> dict[str, Any]:
    """One page of one queue, and the count of every queue under the same filters, inside the scope."""
    _check(ctx, f)
    f = replace(f, division=scope.narrow(f.division))
    now = ctx.now()
    by_handoff = f.queue not in DISPUTE_QUEUES
    counts = {}
    with ctx.store.read() as s:
        for name in QUEUES:
            sub = QueueFilter(name, f.agency, f.tier, f.category, f.division)
            handoffs = name not in DISPUTE_QUEUES
            base = _filtered(_handoff_rows(ctx, sub, now) if handoffs else _dispute_rows(sub, counting=True), sub,
                             handoffs)
            counts[name] = s.scalar(select(func.count()).select_from(base.subquery())) or 0
        q = _filtered(_handoff_rows(ctx, f, now) if by_handoff else _dispute_rows(f), f, by_handoff)
        q = _ordered(q, f, by_handoff).options(selectinload(Dispute.handoffs))  # each row's lead, in one query
        found = s.execute(q.offset((f.page - 1) * f.per_page).limit(f.per_page)).all()
        rows = [Row(r[1], r[0], r[2]) if by_handoff else Row(r[0], None, r[1]) for r in found]
        answer = {"queue": f.queue, "counts": counts, "items": rows, "total": counts[f.queue], "page": f.page,
                  "per_page": f.per_page, "refreshed_at": now}
        return dump(_QUEUE, answer, now, ctx.config, ctx.registry())
