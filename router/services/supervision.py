"""Supervisor actions on a dispute (docs/api.md §5): each needs a reason, is audited, and is refused
(409) when the dispute's state does not allow it. 催办 and 督办 notices to an agency are sent from
here, for a supervisor's urge and for the escalation ladder's alike.
"""

from __future__ import annotations

from typing import Any

from router.adapters.base import urge_notice
from router.adapters.supervision import supervision_notice
from router.domain.errors import StateConflict, ValidationError
from router.domain.model import BodyType, SupervisorAction, Tier, body_zh
from router.domain.personal_text import joined
from router.domain.rules import next_candidate
from router.services import aftercare, agreement, clock, linkage
from router.services.context import Actor, ServiceContext
from router.services.dispatch import lead_type, named_agency, next_lead, open_lead, place_lead, recall, tried
from router.services.facts import facts_of
from router.services.operation import Operation, on_dispute
from router.store.models import Agency, Handoff
from router.workflows.dispute import DISPUTE, OPEN, DisputeState
from router.workflows.handoff import OPEN as HANDOFF_OPEN
from router.workflows.handoff import WAITING

A = SupervisorAction


def act(ctx: ServiceContext, dispute_id: str, data: dict[str, Any], actor: Actor) -> None:
    action, reason = A(data["action"]), (data.get("reason") or "").strip()
    if not reason:
        raise ValidationError("每项督办操作都必须填写理由", "every action needs a reason", field="reason")
    if action == A.DESIGNATE and not data.get("agency"):
        raise ValidationError("指定办理必须选择承办单位", "designate needs an agency", field="agency")
    if action == A.RECORD_FOLLOW_UP and not data.get("satisfaction"):
        raise ValidationError("登记回访必须填写满意度", "a follow-up needs `satisfaction`", field="satisfaction")
    with on_dispute(ctx, dispute_id, actor) as op:
        if action in (A.REROUTE, A.DESIGNATE):  # the state first: a closed dispute is 409 whatever is named
            reroute(op, reason, data.get("agency"), designate=action == A.DESIGNATE)
            return
        agency = named_agency(op, data.get("agency"))
        if action == A.URGE:
            send_urge(op, target_handoff(op, data.get("handoff")), reason)
        elif action == A.ESCALATE:
            escalate(op, reason, agency)
        elif action in (A.WITHDRAW, A.CLOSE):
            if op.dispute.state not in OPEN:
                raise DISPUTE.refuse(op.dispute.state, "撤回" if action == A.WITHDRAW else "办结", action)
            code = "withdrawn" if action == A.WITHDRAW else "closed_by_centre"
            agreement.close_dispute(op, code, joined("申请人撤回：" if action == A.WITHDRAW else "", reason))
        elif action == A.REOPEN:
            agreement.reopen(op, reason)
        elif action == A.RECORD_FOLLOW_UP:
            aftercare.record_follow_up(op, reason, data["satisfaction"], bool(data.get("relapse")), data.get("note"))
        elif action == A.RECORD_FULFILMENT:
            agreement.record_fulfilment(op, {"fulfilled_on": data.get("fulfilled_on"),
                                             "note": data.get("note") or reason})
        elif action == A.ARCHIVE:  # 归档: closed -> archived; the facade keeps its case file
            op.fire_dispute("archive", extra={"reason": reason})
        elif action == A.ADD_ASSIST:
            if not data.get("agency") and not data.get("body_type"):
                raise ValidationError("增加协办单位须选择单位或单位类型", "add_assist needs an agency or a body_type",
                                      field="agency")
            linkage.add_assist(op, reason, data.get("agency"), data.get("body_type"))
        elif action == A.APPROVE_LINK:
            linkage.approve(op, linkage.find(op, data.get("link")), reason, data.get("agency"))
        elif action == A.REFUSE_LINK:
            linkage.refuse(op, linkage.find(op, data.get("link")), reason)
        elif action == A.APPLY_ENFORCEMENT:
            aftercare.apply_enforcement(op, reason)
        elif action == A.REMEDIATE:
            aftercare.remediate(op, reason, data.get("agency"))
        elif action == A.GUIDE_TO_LITIGATION:
            aftercare.guide_to_litigation(op, reason)
        elif action == A.DECLINE_ARBITRATION:
            aftercare.decline_arbitration(op, reason)
        elif action == A.EXTEND:
            clock.extend(op, target_handoff(op, data.get("handoff")), reason,
                         clock.parse_period(data.get("period"), "period"))
        else:  # A.REQUEST_CONFIRMATION
            agreement.request_confirmation(op, reason)


def reroute(op: Operation, reason: str, agency_code: str | None, *, designate: bool) -> None:
    """改派 (the next candidate or a named agency) or 指定 (designated: may not be returned)."""
    d = op.dispute
    if "reroute" not in DISPUTE.triggers_from(d.state):
        raise DISPUTE.refuse(d.state, "改派或指定", "designate" if designate else "reroute")
    target = named_agency(op, agency_code)
    if target is not None and not designate and target.code in tried(d):
        raise StateConflict("同一纠纷不得再次推送给已承办过的单位；如确需由其办理，请使用指定办理",
                            "this agency already had the dispute; use designate", state=d.state, field="agency")
    lead = open_lead(d)
    if lead is not None:
        recall(op, lead, reason)
    action = "designate" if designate else "reroute"
    if target is None:
        cand = next_lead(op, BodyType(lead.body_type if lead else lead_type(d)))
        if cand is None:
            if d.state == DisputeState.NEEDS_SUPERVISOR:
                raise ValidationError("没有其他可承接的单位，请指定承办单位",
                                      "no other candidate: designate an agency", field="agency")
            op.fire_dispute("route_to_supervisor", extra={"reason": reason, "action": action, "no_candidate": True})
            return
        target = op.uow.session.get(Agency, cand.code)
    place_lead(op, target.code, BodyType(target.body_type), extra={"reason": reason, "action": action},
               designated=designate)


def escalate(op: Operation, reason: str, agency: Agency | None) -> None:
    """提级: the lead goes one tier up (or to the named agency, then designated), the current lead recalled."""
    d = op.dispute
    if "reroute" not in DISPUTE.triggers_from(d.state):
        raise DISPUTE.refuse(d.state, "提级", "escalate")
    current = Tier(d.tier or Tier.TOWN)
    if current == Tier.CITY and agency is None:
        raise StateConflict("已是最高层级，不能再提级", "already at the top tier", state=d.state)
    up = current.up() or current
    lead = open_lead(d)
    if agency is None:
        body = BodyType(lead.body_type if lead else lead_type(d))
        cand = next_candidate(facts_of(d), [body], up, op.ctx.registry(), tried(d))
        if cand is None:
            raise ValidationError(f"上一层级（{up}）没有可承接的{body_zh(body)}，请指定承办单位",
                                  f"no {body} at tier {up} or above: name an agency", field="agency")
        code, body, up = cand.code, cand.body_type, cand.tier
    else:  # a named agency: the dispute sits at that agency's tier
        code, body, up = agency.code, BodyType(agency.body_type), Tier(agency.tier)
    if lead is not None:
        recall(op, lead, f"提级：{reason}")
    d.tier = str(up)
    place_lead(op, code, body, extra={"reason": reason, "action": "escalate", "from_tier": str(current),
                                      "to_tier": str(up)}, designated=agency is not None)


def target_handoff(op: Operation, handoff_id: str | None) -> Handoff:
    """The handoff an urge or an extension is about: the one named, else the open lead."""
    d = op.dispute
    if handoff_id:
        h = next((x for x in d.handoffs if x.id == handoff_id), None)
        if h is None:
            raise ValidationError("该纠纷没有这个移交记录", "no such handoff on this dispute", field="handoff")
    else:
        h = open_lead(d) or next((x for x in d.handoffs if x.state in HANDOFF_OPEN), None)
        if h is None:
            raise StateConflict("没有正在办理的移交，无需催办", "no open handoff to urge", state=d.state)
    if h.state not in HANDOFF_OPEN:
        raise StateConflict("该移交已结束，不能催办", "the handoff is no longer open", state=h.state)
    return h


def send_urge(op: Operation, h: Handoff, reason: str, *, escalated: bool = False) -> None:
    """催办 (or a 督办 notice): on the timeline and, through the outbox and the adapter, at the agency.
    The handoff's state does not change; a supervisor's or the ladder's urge counts on it."""
    deadline = "ack_due" if h.state in WAITING else "handle_due"
    due = h.ack_due if deadline == "ack_due" else h.handle_due
    if not escalated:
        h.urged = (h.urged or 0) + 1
    h.updated_at = op.dispute.updated_at = op.at
    op.event("handoff.escalated" if escalated else "handoff.urged",
             {"reason": reason, "agency": h.agency_code, "count": h.urged or 0, "state": h.state,
              "deadline": deadline, "due": due}, h)
    op.notify(h, "handoff.urged", urge_notice(h.id, op.dispute.reference, deadline, due.isoformat() if due else None,
                                              max(h.urged or 0, 1), reason, op.at.isoformat(), escalated=escalated))
    if escalated:
        _copy_to_supervisor(op, h, deadline, due.isoformat() if due else None, reason)


def _copy_to_supervisor(op: Operation, h: Handoff, deadline: str, due: str | None, reason: str) -> None:
    """督办 is also told to the body that supervises the agency (supervised_by: its 司法所 / 司法局),
    through that body's adapter and signed like any notice; on the dispute's timeline as well."""
    agency = op.uow.session.get(Agency, h.agency_code)
    boss = op.uow.session.get(Agency, agency.supervised_by) if agency and agency.supervised_by else None
    if boss is None or not boss.active:
        return
    op.uow.add_message("handoff.supervised", boss.body_type, {
        **supervision_notice(h.agency_code, agency.name, h.id, op.dispute.reference, deadline, due, h.urged or 0,
                             reason, op.at.isoformat()), "agency": boss.code},
        at=op.at, dispute_id=op.dispute.id, handoff_id=h.id)
    op.event("handoff.supervisor_told", {"agency": h.agency_code, "supervised_by": boss.code, "reason": reason}, h)
