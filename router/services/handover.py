"""Handing a file over to an agency without a system (docs/agency-guide.md §1): a pull agency fetches
its handoff itself, a paper agency receives a printed 委托函 from a clerk, who records who took it and
when. Either is the handoff's delivery: it moves from `offered` to `delivered` (the acknowledgement
clock keeps running from the offer), and the held delivery rows are marked done, so nothing is ever
pushed to an agency that has no endpoint and no designation is undone for the lack of one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from router.adapters import adapter_for
from router.domain.errors import NotFound, StateConflict, ValidationError
from router.services.context import Actor, ServiceContext
from router.services.handling import acknowledge
from router.services.operation import Operation, on_dispute
from router.services.referral import referral_input, revealed_fields
from router.store.models import Agency, Delivery, Handoff
from router.workflows.dispute import DisputeState
from router.workflows.handoff import OPEN, HandoffState


def handed_over(op: Operation, h: Handoff, via: str, data: dict[str, Any]) -> None:
    """The agency has the file: the handoff is delivered (once), its held deliveries are done."""
    op.uow.session.execute(update(Delivery).where(Delivery.handoff_id == h.id, Delivery.state == "held",
                                                  Delivery.kind == "handoff.offered")
                           .values(state="succeeded", delivered_at=op.at, updated_at=op.at)
                           .execution_options(synchronize_session=False))
    extra = {"via": via, **data, "agency": h.agency_code}  # the reveal is audited where it happens
    if h.state == HandoffState.OFFERED:
        op.fire_handoff(h, "deliver", extra=extra)


def paper_letter(ctx: ServiceContext, dispute_id: str, handoff_id: str, actor: Actor) -> dict[str, Any]:
    """The 委托函 to print for a paper agency: the referral as the body receives it, parties unmasked
    (the agency needs them); printing it is a reveal, audited."""
    with on_dispute(ctx, dispute_id, actor) as op:
        h = _paper_handoff(op, handoff_id)
        if h.state not in OPEN or op.dispute.state == DisputeState.ARCHIVED:  # taken back: not its parties
            raise StateConflict("该移交已结束，不能打印委托函", f"the handoff is {h.state}", state=h.state)
        referral = adapter_for(h.body_type).build(referral_input(ctx, op.uow.session, h))
        if revealed := revealed_fields(referral):
            op.event("pii.revealed", {"to": h.agency_code, "fields": revealed, "via": "paper_letter"}, h)
        agency = op.uow.session.get(Agency, h.agency_code)
        return {"referral": referral, "agency": {"code": agency.code, "name": agency.name},
                "reference": op.dispute.reference, "dispute_id": op.dispute.id, "handoff_id": h.id, "printed_at": op.at,
                "ack_due": h.ack_due, "state": h.state}


def record_paper_handover(ctx: ServiceContext, dispute_id: str, handoff_id: str, received_by: str,
                          received_at: datetime | None, actor: Actor, acknowledged: bool = False) -> None:
    """A clerk handed the 委托函 over: who at the agency took it, and when (default: now). With
    `acknowledged` the receiver also signed for it (签收, recorded on the agency's behalf, since it has
    no system to do so); a handoff already handed over may have its 签收 recorded that way later."""
    received_by = (received_by or "").strip()
    if not received_by:
        raise ValidationError("请填写接收人", "who received the letter is required", field="received_by")
    with on_dispute(ctx, dispute_id, actor) as op:
        h = _paper_handoff(op, handoff_id)
        when = received_at or op.at
        if when > op.at:
            raise ValidationError("接收时间不能晚于现在", "received_at is in the future", field="received_at")
        if when < h.created_at:
            raise ValidationError("接收时间不能早于移交时间", "received_at is before the handoff was offered",
                                  field="received_at")
        who = {"received_by": received_by, "received_at": when, "recorded_by": actor.id}
        if h.state == HandoffState.OFFERED:
            handed_over(op, h, "paper", who)
        elif not (h.state == HandoffState.DELIVERED and acknowledged):
            raise StateConflict("该移交已送达或已结束，无需再登记纸质移交", f"the handoff is {h.state}", state=h.state)
        if acknowledged:
            acknowledge(op, h, {**who, "on_behalf_of": h.agency_code, "via": "paper"})


def _paper_handoff(op: Operation, handoff_id: str) -> Handoff:
    h = next((x for x in op.dispute.handoffs if x.id == handoff_id), None)
    if h is None:
        raise NotFound("移交事项不存在", "no such handoff")
    agency = op.uow.session.get(Agency, h.agency_code)
    if agency is None or agency.delivery != "paper":
        raise StateConflict("该单位不是纸质移交单位", "the agency does not take paper hand-overs", state=h.state)
    return h


def paper_agencies(ctx: ServiceContext) -> set[str]:
    with ctx.store.read() as s:
        return set(s.scalars(select(Agency.code).where(Agency.delivery == "paper")))
