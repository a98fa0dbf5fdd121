"""Notices to an agency without a system (docs/agency-guide.md §1): a 催办, a 撤回, a 联动 answer or a
督办 copy for a paper agency is held, and the dispute page lists it for a clerk to pass on (by phone
or on paper); the clerk records who took it, which is its delivery, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from router.domain.errors import NotFound, StateConflict, ValidationError
from router.services.context import Actor, ServiceContext
from router.services.operation import on_dispute
from router.store.models import Agency, Delivery, Outbox

KIND_ZH = {"handoff.urged": "催办或督办通知", "handoff.recalled": "撤回通知", "link.decided": "联动申请答复",
           "handoff.supervised": "督办抄送"}


def waiting(ctx: ServiceContext, dispute_id: str) -> list[dict[str, Any]]:
    """The held notices of this dispute's paper agencies, oldest first, with what they say."""
    with ctx.store.read() as s:
        rows = s.execute(select(Delivery, Outbox.payload).join(Outbox, Outbox.id == Delivery.outbox_id)
                         .join(Agency, Agency.code == Delivery.agency_code)
                         .where(Delivery.dispute_id == dispute_id, Delivery.state == "held",
                                Delivery.kind != "handoff.offered", Agency.delivery == "paper")
                         .order_by(Delivery.feed_seq)).all()
        return [{"id": d.id, "kind": d.kind, "kind_name": KIND_ZH.get(d.kind, d.kind), "agency": d.agency_code,
                 "created_at": d.created_at.isoformat(), "reason": payload.get("reason") or payload.get("decision"),
                 "handoff_id": d.handoff_id} for d, payload in rows]


def record_handover(ctx: ServiceContext, dispute_id: str, delivery_id: str, received_by: str, actor: Actor) -> None:
    received_by = (received_by or "").strip()
    if not received_by:
        raise ValidationError("请填写接收人", "who received the notice is required", field="received_by")
    with on_dispute(ctx, dispute_id, actor) as op:
        d = op.uow.session.get(Delivery, delivery_id, with_for_update=True)
        if d is None or d.dispute_id != dispute_id or d.kind == "handoff.offered":
            raise NotFound("通知不存在", "no such notice")
        agency = op.uow.session.get(Agency, d.agency_code)
        if d.state != "held" or agency is None or agency.delivery != "paper":
            raise StateConflict("该通知已转交或无需转交", f"the notice is {d.state}", state=d.state)
        d.state, d.delivered_at, d.updated_at, d.last_error = "succeeded", op.at, op.at, None
        op.event("notice.delivered", {"delivery_id": d.id, "kind": d.kind, "agency": d.agency_code, "via": "paper",
                                      "received_by": received_by, "recorded_by": actor.id})
