"""Due timers -> workflow triggers (docs/architecture.md §6): the escalation ladder of docs/domain.md §6
and the follow-through's own clocks. Each timer fires in its own transaction, taken with FOR UPDATE
SKIP LOCKED on PostgreSQL, so several schedulers share the work and a timer fires once in effect:
a scheduler that dies mid-way rolls back, and the timer is still due for the next one.

Rungs: `ack_warn` / `handle_warn` (yellow warning), `ack_due` (silence counts as a refusal: expire and
re-route), `handle_due` (overdue), `handle_urge` (催办, sent to the agency), `handle_escalate` (督办,
sent to the agency and flagged for supervisors); and `fulfil_due`, `follow_up_due`,
`confirmation_window`; `tier_box` (分级调处时限, router/services/tiers.py). A rung whose step is
already done is moot: marked fired, nothing else.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select

from router.domain.model import BodyType
from router.services import aftercare, tiers
from router.services.context import SYSTEM, ServiceContext
from router.services.not_taken import handoff_not_taken
from router.services.operation import Operation
from router.services.supervision import send_urge
from router.store.models import Dispute, Handoff, Timer
from router.workflows.dispute import AFTER_AGREEMENT, DisputeState
from router.workflows.handoff import HANDLING, OPEN, WAITING, HandoffRole

HANDOFF_KINDS = ("ack_warn", "ack_due", "return_due", "handle_warn", "handle_due", "handle_urge", "handle_escalate",
                 "tier_box")
# Still being mediated: an agreement (or the end) makes the sender's deadline moot.
BEFORE_OUTCOME = frozenset({DisputeState.RECEIVED, DisputeState.ROUTED, DisputeState.NEEDS_SUPERVISOR,
                            DisputeState.HANDED_OFF, DisputeState.IN_HANDLING, DisputeState.HELD_DUPLICATE,
                            DisputeState.AWAITING_COMPLETION})
DISPUTE_KINDS = ("fulfil_due", "follow_up_due", "confirmation_window", "outer_warn", "outer_due")
HANDLED = HANDOFF_KINDS + DISPUTE_KINDS


def due_timer_ids(ctx: ServiceContext, limit: int = 200) -> list[int]:
    now = ctx.now()
    with ctx.store.read() as s:
        return list(s.scalars(select(Timer.id).where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None),
                                                     Timer.due_at <= now, Timer.kind.in_(HANDLED))
                              .order_by(Timer.due_at, Timer.id).limit(limit)))


def fire_timer(ctx: ServiceContext, timer_id: int) -> str:
    """Fire one timer; returns what happened (for logs and tests). Safe to call twice, or from two schedulers."""
    now = ctx.now()
    with ctx.store.unit_of_work() as uow:
        s = uow.session
        pending = (Timer.id == timer_id, Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
        dispute_id = s.scalar(select(Timer.dispute_id).where(*pending))
        # Locks in the order every use case takes them, dispute first: a transaction that holds the
        # dispute may cancel this dispute's timers, so taking the timer first could deadlock with it.
        d = s.get(Dispute, dispute_id, with_for_update=True) if dispute_id else None
        q = select(Timer).where(*pending)
        if not ctx.settings.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        t = s.scalars(q).first()
        if t is None:
            return "gone"
        t.fired_at = now
        if d is None:
            return "moot"
        op = Operation(ctx, uow, d, SYSTEM, now)
        if t.kind in DISPUTE_KINDS:
            return _dispute_timer(op, t)
        h = s.get(Handoff, t.handoff_id) if t.handoff_id else None
        return "moot" if h is None else _handoff_timer(op, h, t)


def _handoff_timer(op: Operation, h: Handoff, t: Timer) -> str:
    on_ack = t.kind.startswith("ack")
    mark = {"timer": t.id, "rule": t.rule, "deadline": "ack_due" if on_ack else "handle_due",
            "due": h.ack_due if on_ack else h.handle_due}
    if t.kind == "tier_box":  # 分级调处时限: a lead with no outcome yet is lifted one tier up
        return "lifted" if h.role == HandoffRole.LEAD and h.state in OPEN and tiers.lift(op, h) else "moot"
    if t.kind == "return_due" or h.state not in (WAITING if on_ack else HANDLING):
        return "moot"
    if t.kind in ("ack_warn", "handle_warn"):
        op.event("handoff.warned", {**mark, "warned_at": t.due_at}, h)
        return "warned"
    if t.kind == "ack_due":
        reason = f"{h.agency_code}逾期未签收（期限{h.ack_due.isoformat()}），视为拒收"
        op.fire_handoff(h, "expire", extra={**mark, "reason": reason})
        handoff_not_taken(op, h, reason)
        return "expired"
    if t.kind == "handle_due":
        op.event("handoff.overdue", mark, h)
        if h.role == HandoffRole.LEAD and h.body_type == BodyType.LABOUR_MEDIATION and aftercare.labour_time_out(op, h):
            return "arbitration_offered"
        return "overdue"
    if t.kind == "handle_urge":
        send_urge(op, h, f"办理期限（{mark['due'].isoformat()}）已过，请尽快办结并报告结果")
        return "urged"
    # handle_escalate: 督办, on the supervisors' overdue list and at the agency
    h.escalated_at = op.at
    send_urge(op, h, f"办理超期未结，已列入督办（期限{mark['due'].isoformat()}）", escalated=True)
    return "escalated"


def _dispute_timer(op: Operation, t: Timer) -> str:
    data, state = {"timer": t.id, "rule": t.rule, "due": t.due_at}, op.dispute.state
    if t.kind == "fulfil_due" and state == DisputeState.FULFILLING:
        aftercare.fulfilment_overdue(op, data)
        return "fulfilment_overdue"
    if t.kind == "follow_up_due" and state == DisputeState.FOLLOW_UP:
        op.event("dispute.follow_up_due", data)
        return "follow_up_due"
    if t.kind in ("outer_warn", "outer_due") and state in BEFORE_OUTCOME:  # the sender's own deadline
        return _outer(op, t, data)
    if t.kind == "confirmation_window" and state in AFTER_AGREEMENT:
        op.event("dispute.confirmation_window_closed", data)
        return "confirmation_window_closed"
    return "moot"


def _outer(op: Operation, t: Timer, data: dict[str, Any]) -> str:
    """The referring body's deadline: warned the working day before; when it passes, 督办 of the lead
    (it is the sender's clock the dispute runs against) and on the supervisors' timeline."""
    if t.kind == "outer_warn":
        op.event("dispute.outer_deadline_warned", data)
        return "outer_warned"
    op.event("dispute.outer_deadline_passed", data)
    lead = next((h for h in op.dispute.handoffs if h.role == HandoffRole.LEAD and h.state in OPEN), None)
    if lead is not None and lead.escalated_at is None:  # one 督办 of a lead, whichever clock came first
        lead.escalated_at = op.at
        send_urge(op, lead, f"已超过转入单位的期限（{t.rule}）", escalated=True)
    return "outer_passed"


def run_due_timers(ctx: ServiceContext, limit: int = 200) -> int:
    """One scheduler round; returns how many timers this scheduler fired (0: nothing left for it, so
    its loop sleeps instead of spinning on timers another scheduler holds)."""
    ids = due_timer_ids(ctx, limit)
    random.shuffle(ids)  # schedulers reading the same due batch start at different ends of it
    return sum(fire_timer(ctx, timer_id) != "gone" for timer_id in ids)
