"""Read models: the dispute as API.md shows it (personal data masked) and list queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from router.domain import ids
from router.domain.errors import NotFound, ValidationError
from router.services.context import ServiceContext
from router.store.models import Dispute, Handoff


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def sla_of(h: Handoff, now: datetime) -> str:
    """on_time | warned | overdue | breached (API.md): overdue while an open step is past its deadline;
    breached when a step was done late (or never: expired); warned inside the yellow band."""
    ack_due, handle_due = h.ack_due, h.handle_due
    waiting, handling = h.state in ("offered", "delivered"), h.state in ("acknowledged", "in_progress")
    paused = bool((h.deadline_rules or {}).get("suspended_at"))
    if (waiting and ack_due and now > ack_due) or (handling and not paused and handle_due and now > handle_due):
        return "overdue"
    acked, done = h.acknowledged_at, h.completed_at
    if h.state == "expired" or (acked and ack_due and acked > ack_due) or (done and handle_due and done > handle_due):
        return "breached"
    warn = h.ack_warn_at if waiting else h.handle_warn_at if handling and not paused else None
    return "warned" if warn and now >= warn else "on_time"


def handoff_view(h: Handoff, now: datetime | None = None) -> dict[str, Any]:
    return {"id": h.id, "agency": h.agency_code, "body_type": h.body_type, "role": h.role, "state": h.state,
            "sla": sla_of(h, now or datetime.now(UTC)), "escalated_at": iso(h.escalated_at),
            "clock_stopped": bool((h.deadline_rules or {}).get("suspended_at")),
            "ack_due": iso(h.ack_due), "return_due": iso(h.return_due), "handle_due": iso(h.handle_due),
            "designated": h.designated, "placement": h.placement, "acknowledged_at": iso(h.acknowledged_at),
            "completed_at": iso(h.completed_at), "outcome": h.outcome, "returned_reason": h.returned_reason,
            "urged": h.urged or 0, "created_at": iso(h.created_at), "updated_at": iso(h.updated_at)}


def dispute_view(d: Dispute, now: datetime | None = None, *, mask_names: bool = False) -> dict[str, Any]:
    routing = dict(d.routing) if d.routing else None
    return {
        "id": d.id, "reference": d.reference, "state": d.state, "category": d.category, "tier": d.tier,
        "source": d.source, "source_ref": d.source_ref, "summary": d.summary,
        "amount": None if d.amount is None else f"{d.amount:.2f}", "people_involved": d.people_involved,
        "division": d.division, "occurred_on": d.occurred_on.isoformat() if d.occurred_on else None,
        "risk_flags": list(d.risk_flags or ()), "features": list(d.features or ()), "wish": d.wish,
        "routing": routing,
        "handoffs": [handoff_view(h, now) for h in d.handoffs],
        "parties": [{"role": p.role, "kind": p.kind,
                     "name": ids.mask_name(p.name) if mask_names and p.kind == "person" else p.name,
                     "division": p.division,
                     "id_number": p.id_number_masked, "phone": p.phone_masked,
                     "credit_code": p.credit_code} for p in d.parties],
        "duplicate_of": d.duplicate_of, "outcome": d.outcome, "closure": d.closure,
        "created_at": iso(d.created_at), "updated_at": iso(d.updated_at),
    }


def names_masked(ctx: ServiceContext, category: str) -> bool:
    """Family and inheritance cases show persons as 张某 to staff (routing.yaml `mask_names`)."""
    cat = ctx.config.ruleset.categories.get(category)
    return bool(cat and cat.mask_names)


def full_view(ctx: ServiceContext, s: Session, d: Dispute, now: datetime | None = None) -> dict[str, Any]:
    """The single-dispute view: the likely-duplicate link spelled out with its reference."""
    view = dispute_view(d, now, mask_names=names_masked(ctx, d.category))
    if d.duplicate_of:
        ref = s.scalar(select(Dispute.reference).where(Dispute.id == d.duplicate_of))
        view["duplicate_of"] = {"id": d.duplicate_of, "reference": ref}
    return view


def get_dispute(ctx: ServiceContext, dispute_id: str) -> dict[str, Any]:
    with ctx.store.read() as s:
        d = s.get(Dispute, dispute_id, options=[selectinload(Dispute.parties), selectinload(Dispute.handoffs)])
        if d is None:
            raise NotFound("纠纷不存在", "no such dispute")
        return full_view(ctx, s, d, ctx.now())


@dataclass(frozen=True)
class DisputeFilter:
    state: str | None = None
    category: str | None = None
    agency: str | None = None
    tier: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool | None = None
    page: int = 1
    per_page: int = 20


def list_disputes(ctx: ServiceContext, f: DisputeFilter) -> tuple[list[dict[str, Any]], int]:
    if f.category and f.category not in ctx.config.ruleset.categories:
        raise ValidationError(f"未知的纠纷类型：{f.category}", f"unknown category {f.category!r}", field="category")
    if f.agency and f.agency not in ctx.registry().by_code:
        raise ValidationError(f"承办单位不存在：{f.agency}", f"unknown agency {f.agency!r}", field="agency")
    q = select(Dispute)
    if f.state:
        q = q.where(Dispute.state == f.state)
    if f.category:
        q = q.where(Dispute.category == f.category)
    if f.tier:
        q = q.where(Dispute.tier == f.tier)
    if f.agency:
        q = q.where(Dispute.id.in_(select(Handoff.dispute_id).where(Handoff.agency_code == f.agency)))
    if f.overdue is not None:
        now = ctx.now()
        late = select(Handoff.dispute_id).where(or_(
            and_(Handoff.state.in_(("offered", "delivered")), Handoff.ack_due < now),
            and_(Handoff.state.in_(("acknowledged", "in_progress")), Handoff.handle_due < now)))
        q = q.where(Dispute.id.in_(late) if f.overdue else Dispute.id.not_in(late))
    tz = ctx.config.calendar.tz
    if f.date_from:
        q = q.where(Dispute.created_at >= datetime.combine(f.date_from, datetime.min.time(), tz))
    if f.date_to:
        q = q.where(Dispute.created_at < datetime.combine(f.date_to, datetime.max.time(), tz))
    with ctx.store.read() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.options(selectinload(Dispute.parties), selectinload(Dispute.handoffs))
                         .order_by(Dispute.created_at.desc(), Dispute.id)
                         .offset((f.page - 1) * f.per_page).limit(f.per_page)).all()
        now = ctx.now()
        return [dispute_view(d, now, mask_names=names_masked(ctx, d.category)) for d in rows], total
