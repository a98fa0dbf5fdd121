"""Due timers -> engine triggers (DESIGN.md `scheduler`). Each timer fires in its own transaction,
taken with FOR UPDATE SKIP LOCKED on PostgreSQL so several schedulers share the work.

Handled now: `ack_due` (silence past the acknowledgement deadline counts as a refusal: the handoff
expires and the lead is re-routed, DOMAIN.md section 5). The warning/urge/escalate ladder on the
other deadlines is issue 5's; those timers stay pending until it lands.
"""

from __future__ import annotations

from sqlalchemy import select

from router.services.context import SYSTEM, ServiceContext
from router.services.follow import move_handoff
from router.store.models import Dispute, Handoff, Timer

HANDLED = ("ack_due",)


def due_timer_ids(ctx: ServiceContext, limit: int = 200) -> list[int]:
    now = ctx.now()
    with ctx.store.read() as s:
        return list(s.scalars(select(Timer.id).where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None),
                                                     Timer.due_at <= now, Timer.kind.in_(HANDLED))
                              .order_by(Timer.due_at, Timer.id).limit(limit)))


def fire_timer(ctx: ServiceContext, timer_id: int) -> str:
    """Fire one timer; returns what happened (for logs and tests). Safe to call twice."""
    now = ctx.now()
    with ctx.store.unit_of_work() as uow:
        s = uow.session
        q = select(Timer).where(Timer.id == timer_id, Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
        if not ctx.settings.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        t = s.scalars(q).first()
        if t is None:
            return "gone"
        t.fired_at = now
        if t.kind != "ack_due" or not t.handoff_id:
            return "ignored"
        h = s.get(Handoff, t.handoff_id)
        if h is None or h.state not in ("offered", "delivered"):
            return "moot"
        d = s.get(Dispute, h.dispute_id, with_for_update=True)
        s.refresh(h)
        if h.state not in ("offered", "delivered"):
            return "moot"
        reason = f"{h.agency_code}逾期未签收（期限{t.due_at.isoformat()}），视为拒收"
        move_handoff(uow, d, h, "expire", SYSTEM, now, extra={"reason": reason, "timer": t.id, "rule": t.rule})
        if h.role == "lead":
            from router.services.delivery import reroute_after_failure

            reroute_after_failure(ctx, uow, d, h, now, reason)
        return "expired"


def run_due_timers(ctx: ServiceContext, limit: int = 200) -> int:
    """One scheduler round; returns how many timers it looked at."""
    ids = due_timer_ids(ctx, limit)
    for timer_id in ids:
        fire_timer(ctx, timer_id)
    return len(ids)
