"""A dispute's timeline for supervisors (API.md "Supervisors"): every event in order, and one span
per handoff with its milestones, deadlines, durations and SLA standing.

SLA (`views.sla_of`): overdue while an open step is past its deadline, breached when a step was done
late, warned inside the yellow band before a deadline, else on_time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from router.domain.errors import NotFound
from router.services.context import ServiceContext
from router.services.views import iso, sla_of
from router.store.models import Dispute, Event, Handoff

MILESTONES = {"handoff.deliver": "delivered", "handoff.acknowledge": "acknowledged",
              "handoff.complete": "outcome", "handoff.return_": "returned", "handoff.expire": "expired",
              "handoff.recall": "recalled", "handoff.fail_delivery": "undeliverable", "handoff.close": "closed"}


def timeline(ctx: ServiceContext, dispute_id: str) -> dict[str, Any]:
    now = ctx.now()
    with ctx.store.read() as s:
        d = s.get(Dispute, dispute_id, options=[selectinload(Dispute.handoffs)])
        if d is None:
            raise NotFound("纠纷不存在", "no such dispute")
        events = s.scalars(select(Event).where(Event.stream == d.id).order_by(Event.stream_seq)).all()
        times: dict[str, dict[str, datetime]] = {}
        for e in events:
            if e.handoff_id and e.type in MILESTONES:
                times.setdefault(e.handoff_id, {}).setdefault(MILESTONES[e.type], e.occurred_at)
        return {
            "dispute_id": d.id, "reference": d.reference, "state": d.state,
            "events": [{"seq": e.stream_seq, "type": e.type, "actor": e.actor, "at": iso(e.occurred_at),
                        "handoff_id": e.handoff_id, "data": e.data} for e in events],
            "spans": [_span(h, times.get(h.id, {}), now) for h in d.handoffs],
        }


def _span(h: Handoff, t: dict[str, datetime], now: datetime) -> dict[str, Any]:
    offered = h.created_at
    acked, outcome = t.get("acknowledged"), t.get("outcome")
    ended = next((t[k] for k in ("outcome", "returned", "expired", "recalled", "undeliverable") if k in t), None)
    return {
        "handoff_id": h.id, "agency": h.agency_code, "body_type": h.body_type, "role": h.role, "state": h.state,
        "offered": iso(offered), **{k: iso(t.get(k)) for k in ("delivered", "acknowledged", "outcome", "closed")},
        "ended": iso(ended), "ack_due": iso(h.ack_due), "handle_due": iso(h.handle_due),
        "to_acknowledge_s": _secs(offered, acked), "to_outcome_s": _secs(acked or offered, outcome),
        "duration_s": _secs(offered, ended or now),
        "sla": sla_of(h, now), "escalated_at": iso(h.escalated_at), "returned_reason": h.returned_reason,
        "urged": h.urged or 0,
    }


def _secs(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round((b - a).total_seconds(), 1)
