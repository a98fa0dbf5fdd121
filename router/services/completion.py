"""补正 (docs/domain.md §7): a lead that returned a dispute as incomplete (材料不全) sends it back to the
window. A clerk records what was completed; the note is appended to the registration's summary, so
the body reads it in the referral, and the same body is offered the dispute again (or, when it is
no longer registered, the next candidate; supervisors when there is none)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from router.domain.errors import ValidationError
from router.domain.model import BodyType, ReturnReason
from router.services.context import Actor, ServiceContext
from router.services.dispatch import next_lead, offer_lead
from router.services.operation import Operation, on_dispute
from router.services.scope import WHOLE, Scope
from router.store.models import Dispute, Handoff
from router.workflows.dispute import DISPUTE, DisputeState
from router.workflows.handoff import HandoffRole

MAX_NOTE = 2000


def complete_registration(ctx: ServiceContext, dispute_id: str, note: str, actor: Actor) -> None:
    note = (note or "").strip()
    if not note:
        raise ValidationError("请写明补正了哪些材料或情况", "a note on what was completed is required", field="note")
    if len(note) > MAX_NOTE:
        raise ValidationError(f"补正说明不超过{MAX_NOTE}字", f"the note is at most {MAX_NOTE} characters", field="note")
    with on_dispute(ctx, dispute_id, actor) as op:
        d = op.dispute
        if "complete_intake" not in DISPUTE.triggers_from(d.state):
            raise DISPUTE.refuse(d.state, "补正完毕", "complete")
        returned = _returned_lead(d)
        local = op.at.astimezone(op.config.calendar.tz)
        d.summary = f"{d.summary}\n【{local:%Y-%m-%d}补正】{note}"
        op.fire_dispute("complete_intake", extra={"reason": note, "returned_by": returned.agency_code
                                                  if returned else None})
        _offer_again(op, returned)


def _returned_lead(d: Dispute) -> Handoff | None:
    leads = [h for h in d.handoffs if h.role == HandoffRole.LEAD and h.state == "returned"]
    return leads[-1] if leads else None


def _offer_again(op: Operation, returned: Handoff | None) -> None:
    """The body that asked for the completion gets it again, even though it had it once."""
    agency = op.ctx.registry().by_code.get(returned.agency_code) if returned else None
    if agency is None or not agency.active:
        cand = next_lead(op, BodyType(returned.body_type) if returned else BodyType.PEOPLE_MEDIATION,
                         code=ReturnReason.OTHER)
        if cand is None:
            op.by_system().fire_dispute("route_to_supervisor", extra={"reason": "补正后没有可承接的单位"})
            return
        code, body_type = cand.code, cand.body_type
    else:
        code, body_type = agency.code, agency.body_type
    offer_lead(op, code, body_type)


def completion_queue(ctx: ServiceContext, limit: int = 100, scope: Scope = WHOLE) -> list[dict[str, Any]]:
    """待补正: what the window must complete, the oldest first, with the body's reason."""
    with ctx.store.read() as s:
        rows = s.execute(select(Dispute.id, Dispute.reference, Dispute.category, Dispute.updated_at)
                         .where(Dispute.state == DisputeState.AWAITING_COMPLETION, scope.where(Dispute.division))
                         .order_by(Dispute.updated_at, Dispute.id).limit(limit)).all()
        reasons = dict(s.execute(select(Handoff.dispute_id, Handoff.returned_reason)
                                 .where(Handoff.dispute_id.in_([r.id for r in rows]), Handoff.role == "lead",
                                        Handoff.state == "returned")
                                 .order_by(Handoff.updated_at)).all()) if rows else {}
        return [{"id": r.id, "reference": r.reference, "category": r.category, "since": _iso(r.updated_at),
                 "reason": reasons.get(r.id)} for r in rows]


def _iso(at: datetime) -> str:
    return at.isoformat()
