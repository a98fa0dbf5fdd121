"""联动 mid-case (docs/domain.md §7): the lead asks for an assisting body, an expert opinion (专家库,
a 调解意见书) or suggests a transfer (建议转派); a supervisor approves or refuses it, or config
approves assisting requests per body type (bodies.yaml `link_auto_approve`); a supervisor may also
add an assisting body directly (`add_assist`). An approved assist or expert request is an assisting
handoff on its own clock: the lead's outcome still decides the dispute. An approved transfer recalls
the lead and places a new one of the suggested body type.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from router.adapters.base import link_decision_notice
from router.domain.errors import StateConflict, ValidationError
from router.domain.linkage import LINK_KIND_ZH, LinkKind, link_body_type
from router.domain.model import BodyType, Tier, body_zh
from router.domain.registry import AgencyInfo
from router.domain.rules import next_candidate
from router.services.dispatch import named_agency, offer, open_lead, place_lead, recall, tried
from router.services.facts import facts_of
from router.services.operation import Operation
from router.store.models import Handoff, LinkRequest
from router.workflows.dispute import DISPUTE, WITH_A_LEAD
from router.workflows.handoff import HANDLING, OPEN, HandoffRole
from router.workflows.link import LINK, LinkState

AUTO = "按配置自动同意"


def request_link(op: Operation, h: Handoff, link: dict[str, Any], extra: dict[str, Any]) -> LinkRequest:
    """The lead's `link_request` report (the handoff is being handled: 签收 is implied before)."""
    if h.role != HandoffRole.LEAD:
        raise ValidationError("只有主办单位可以申请联动", "only the lead may ask for a link", field="link")
    if h.state not in HANDLING:
        raise StateConflict("请先签收再申请联动", "acknowledge the handoff before asking for a link", state=h.state)
    kind = LinkKind(link["kind"])
    bt = link_body_type(kind, link.get("body_type"))
    reason = (link.get("reason") or "").strip()
    if not reason:
        raise ValidationError("请写明联动的理由", "link.reason is required", field="link.reason")
    waiting = op.uow.session.scalar(select(LinkRequest.id).where(
        LinkRequest.dispute_id == op.dispute.id, LinkRequest.state == LinkState.PENDING,
        LinkRequest.kind == kind, LinkRequest.body_type == bt))
    if waiting is not None:
        raise StateConflict("已有相同的联动申请待审批", "the same link request is already waiting", state=h.state)
    req = _new(op, kind, bt, reason, h.agency_code, h.id)
    op.fire_link(req, "request", {**extra, "reason": reason, "asked_by": h.agency_code})
    if kind != LinkKind.TRANSFER and op.config.bodies[bt].link_auto_approve:
        target = _assistant(op, bt)
        if target is not None:  # none covering the division: it waits for a supervisor to name one
            approve(op.by_system(), req, AUTO, target.code)
    return req


def add_assist(op: Operation, reason: str, agency_code: str | None, body_type: str | None) -> LinkRequest:
    """A supervisor adds an assisting body: recorded as a link request, approved at once."""
    if op.dispute.state not in WITH_A_LEAD:
        raise DISPUTE.refuse(op.dispute.state, "增加协办单位", "add an assisting body")
    named = named_agency(op, agency_code)
    if named is not None and any(h.agency_code == named.code and h.state in OPEN for h in op.dispute.handoffs):
        raise StateConflict(f"{named.name}已在办理本纠纷", f"{named.code} already holds this dispute",
                            state=op.dispute.state, field="agency")
    bt = link_body_type(LinkKind.ASSIST, body_type or (named.body_type if named else None))
    req = _new(op, LinkKind.ASSIST, bt, reason, op.actor.id, None)
    op.fire_link(req, "request", {"reason": reason, "asked_by": op.actor.id})
    approve(op, req, reason, agency_code)
    return req


def approve(op: Operation, req: LinkRequest, reason: str, agency_code: str | None = None) -> None:
    """Offer the assisting (or expert's) handoff, or move the lead; 422 when no agency can take it."""
    if req.state != LinkState.PENDING:
        raise LINK.refuse(req.state, "同意联动", "approve")
    d, bt = op.dispute, BodyType(req.body_type)
    if d.state not in WITH_A_LEAD:
        raise DISPUTE.refuse(d.state, "联动", "approve a link")
    if req.kind == LinkKind.TRANSFER:
        target: Any = named_agency(op, agency_code, bt) or next_candidate(facts_of(d), [bt], Tier(d.tier or Tier.TOWN),
                                                               op.ctx.registry(), tried(d))
        _must(target, bt)
        _decided(op, req, "approve", reason, target.code)  # first: recalling the asker withdraws what it asked
        current = open_lead(d)
        if current is not None:
            recall(op, current, f"建议转派已同意：{req.reason}")
        place_lead(op, target.code, bt, extra={"reason": f"转派：{reason}", "action": "transfer", "link_id": req.id},
                   designated=agency_code is not None)
        lead = open_lead(d)
        req.result_handoff_id = lead.id if lead else None
        return
    target = named_agency(op, agency_code, bt) or _assistant(op, bt)
    _must(target, bt)
    req.result_handoff_id = offer(op, target.code, bt, HandoffRole.ASSIST).id
    _decided(op, req, "approve", reason, target.code)


def refuse(op: Operation, req: LinkRequest, reason: str) -> None:
    if req.state != LinkState.PENDING:
        raise LINK.refuse(req.state, "不同意联动", "refuse")
    _decided(op, req, "refuse", reason, None)


def withdraw_waiting(op: Operation, reason: str, handoff_id: str | None = None) -> None:
    """Requests nobody waits for any more: the dispute closed, or the handoff that asked ended."""
    q = select(LinkRequest).where(LinkRequest.dispute_id == op.dispute.id, LinkRequest.state == LinkState.PENDING)
    if handoff_id is not None:
        q = q.where(LinkRequest.handoff_id == handoff_id)
    for req in op.uow.session.scalars(q):
        op.fire_link(req, "withdraw", {"reason": reason})


def find(op: Operation, link_id: str | None) -> LinkRequest:
    req = op.uow.session.get(LinkRequest, link_id) if link_id else None
    if req is None or req.dispute_id != op.dispute.id:
        raise ValidationError("该纠纷没有这个联动申请", "no such link request on this dispute", field="link")
    return req


# --------------------------------------------------------------------------- helpers
def _new(op: Operation, kind: LinkKind, bt: BodyType, reason: str, asked_by: str,
         handoff_id: str | None) -> LinkRequest:
    req = LinkRequest(id=str(uuid.uuid4()), dispute_id=op.dispute.id, handoff_id=handoff_id, kind=str(kind),
                      body_type=str(bt), reason=reason, state=LinkState.NEW, asked_by=asked_by, created_at=op.at)
    op.uow.session.add(req)
    return req


def _decided(op: Operation, req: LinkRequest, trigger: str, reason: str, agency: str | None) -> None:
    req.decided_at, req.decided_by, req.decision_reason = op.at, op.actor.id, reason
    op.fire_link(req, trigger, {"reason": reason, "agency": agency, "handoff": req.result_handoff_id})
    asker = next((h for h in op.dispute.handoffs if h.id == req.handoff_id), None)
    if asker is not None and asker.state in OPEN:  # a transfer recalled it: the recall notice says enough
        decision = "approved" if trigger == "approve" else "refused"
        op.notify(asker, "link.decided", link_decision_notice(asker.id, op.dispute.reference, req.id, req.kind,
                                                              req.body_type, decision, reason, agency,
                                                              op.at.isoformat()))


def _assistant(op: Operation, bt: BodyType) -> AgencyInfo | None:
    """The nearest agency of the type covering the dispute that does not assist it already."""
    d = op.dispute
    busy = frozenset(h.agency_code for h in d.handoffs if h.role == HandoffRole.ASSIST and h.state in OPEN)
    return next_candidate(facts_of(d), [bt], Tier(d.tier or Tier.TOWN), op.ctx.registry(), busy)


def _must(target: Any, bt: BodyType) -> None:
    if target is None:
        raise ValidationError(f"辖区内没有可承接的{body_zh(bt)}，请指定单位", f"no {bt} covers this dispute: name one",
                              field="agency")


def kind_zh(kind: str) -> str:
    return LINK_KIND_ZH.get(LinkKind(kind), kind)
