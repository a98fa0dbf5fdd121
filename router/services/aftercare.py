"""After the outcome (docs/domain.md §8): nothing sits silently in fulfilment. An agreement whose date
passed unperformed is `unfulfilled`: a judicially confirmed one may go to the court for enforcement
(强制执行, 民事诉讼法 243); any may be mediated again by the same body, or the parties guided to
litigation, the supervisors' choice. A labour mediation without agreement after its 15 days offers
labour arbitration itself (劳动争议调解仲裁法 14) unless a party declined. A follow-up visit answered
dissatisfied starts 重办: the same body again, on a new clock.
"""

from __future__ import annotations

from typing import Any

from router.domain.errors import StateConflict, ValidationError
from router.domain.model import SATISFACTION_ZH, BodyType, OutcomeResult, Satisfaction
from router.domain.personal_text import joined
from router.domain.rules import decide
from router.services import agreement
from router.services.context import Actor, ServiceContext
from router.services.dispatch import named_agency, offer, offer_lead, recall
from router.services.facts import facts_of
from router.services.operation import Operation, on_dispute
from router.store.models import Agency, Handoff
from router.store.uow import jsonable
from router.workflows.dispute import DISPUTE, DisputeState
from router.workflows.handoff import HandoffRole

LABOUR_TIME_OUT = "劳动争议调解组织自受理之日起十五日内未达成调解协议，依劳动争议调解仲裁法第十四条转劳动仲裁"


def confirmed(op: Operation) -> dict[str, Any] | None:
    """The court's confirmation of the dispute's agreement, when it was confirmed."""
    c = (op.dispute.outcome or {}).get("confirmation") or {}
    return c if c.get("confirmed") else None


def fulfilment_overdue(op: Operation, data: dict[str, Any]) -> None:
    """The agreement's date passed: to the supervisors' 逾期未履行 queue, with what may follow."""
    choices = ["apply_enforcement"] if confirmed(op) else []
    op.fire_dispute("fulfilment_overdue", extra={**data, "reason": "协议约定的履行期限已过，尚未登记履行",
                                                 "choices": [*choices, "remediate", "guide_to_litigation",
                                                             "record_fulfilment"]})


def apply_enforcement(op: Operation, reason: str) -> Handoff:
    """强制执行: the party applied; the court that confirmed the agreement gets an enforcement handoff."""
    d = op.dispute
    if "apply_enforcement" not in DISPUTE.triggers_from(d.state):
        raise DISPUTE.refuse(d.state, "申请强制执行", "apply for enforcement")
    c = confirmed(op)
    if c is None:
        raise StateConflict("协议未经司法确认，不能申请强制执行；可再次调解或引导诉讼",
                            "only a judicially confirmed agreement can be enforced", state=d.state)
    court = op.uow.session.get(Agency, c.get("court")) if c.get("court") else None
    if court is None or not court.active:
        raise StateConflict("作出确认裁定的法院已不在册，请当事人直接向法院申请", "the confirming court is gone",
                            state=d.state)
    op.fire_dispute("apply_enforcement", extra={"reason": reason, "court": court.code})
    tries = sum(1 for h in d.handoffs if h.role == HandoffRole.ENFORCE)
    return offer(op, court.code, BodyType.COURT, HandoffRole.ENFORCE, placement=tries + 1)


def enforcement_result(op: Operation, h: Handoff, result: str, note: str | None) -> None:
    """The court reported: enforced (执行完毕: the agreement is performed), or ended without it."""
    if op.dispute.state != DisputeState.ENFORCING:
        return
    if result == OutcomeResult.AGREEMENT:
        agreement.record_fulfilment(op, {"note": note or "经人民法院强制执行，协议已履行"}, via=h)
    else:  # ended without it: back before the supervisors (guidance to litigation, or mediation again)
        op.fire_dispute("enforcement_not_taken", extra={"reason": f"强制执行终结：{note or h.agency_code}",
                                                        "court": h.agency_code})


def enforcement_not_taken(op: Operation, h: Handoff, reason: str) -> None:
    if op.dispute.state == DisputeState.ENFORCING:
        op.fire_dispute("enforcement_not_taken", extra={"reason": reason, "court": h.agency_code})


def remediate(op: Operation, reason: str, agency_code: str | None) -> None:
    """再次调解 of an unperformed agreement: the body that mediated it (or the one named), designated."""
    d = op.dispute
    if "remediate" not in DISPUTE.triggers_from(d.state):
        raise DISPUTE.refuse(d.state, "再次调解", "remediate")
    op.fire_dispute("remediate", extra={"reason": reason})
    op.uow.cancel_timers(op.at, dispute_id=d.id)  # the old agreement's clocks do not run on
    _new_round(op, agency_code, reason)


def guide_to_litigation(op: Operation, reason: str) -> None:
    if op.dispute.state != DisputeState.UNFULFILLED:
        raise DISPUTE.refuse(op.dispute.state, "引导诉讼", "guide to litigation")
    agreement.close_dispute(op, "guided_to_litigation", joined("协议未履行，已引导当事人依法诉讼：", reason))


def redo(op: Operation, reason: str) -> None:
    """重办 after a dissatisfied follow-up: a new handling round, the same body on a new clock."""
    op.fire_dispute("redo", extra={"reason": joined("回访不满意，重办：", reason)})
    op.uow.cancel_timers(op.at, dispute_id=op.dispute.id)
    _new_round(op, None, reason)


def _new_round(op: Operation, agency_code: str | None, reason: str) -> None:
    """routed -> a lead offered (designated: it had the dispute before) -> handed_off."""
    d = op.dispute
    a = named_agency(op, agency_code)
    if a is None and (code := (d.outcome or {}).get("agency") or d.lead_agency):  # the body that mediated it
        a = op.uow.session.get(Agency, code)
    if a is None or not a.active:  # 当场化解, or the body is gone: route it as at intake
        decision = decide(facts_of(d), op.config.ruleset, op.ctx.registry())
        if decision.needs_supervisor or decision.lead.agency is None:
            op.fire_dispute("route_to_supervisor", extra={"reason": f"{reason}；没有可承接的单位"})
            return
        code, body = decision.lead.agency, decision.lead.body_type
    else:
        code, body = a.code, BodyType(a.body_type)
        d.tier = a.tier
    offer_lead(op, code, body, designated=True)


def decline_arbitration(op: Operation, reason: str) -> None:
    """A party declines labour arbitration: the 15 days passing offer nothing (the ladder still runs)."""
    lead = next((h for h in op.dispute.handoffs if h.role == HandoffRole.LEAD and h.state in
                 ("offered", "delivered", "acknowledged", "in_progress")), None)
    if lead is None or lead.body_type != BodyType.LABOUR_MEDIATION:
        raise StateConflict("只有劳动争议调解期间可以登记不申请仲裁", "only during a labour mediation",
                            state=op.dispute.state)
    lead.deadline_rules = jsonable({**(lead.deadline_rules or {}), "arbitration_declined": reason})
    op.event("dispute.arbitration_declined", {"reason": reason, "handoff_id": lead.id}, lead)


def labour_time_out(op: Operation, h: Handoff) -> bool:
    """The labour mediation's 15 days passed without an outcome: arbitration is offered, unless declined.
    True when it was (the handoff is recalled and the arbitration commission has the lead)."""
    if (h.deadline_rules or {}).get("arbitration_declined"):
        return False
    op.event("dispute.labour_time_out", {"reason": LABOUR_TIME_OUT, "handoff_id": h.id, "agency": h.agency_code}, h)
    recall(op, h, LABOUR_TIME_OUT)
    agreement.after_failure(op, h, reason=LABOUR_TIME_OUT)
    return True



# --------------------------------------------------------------------------- the follow-up visit
def record_visit(ctx: ServiceContext, dispute_id: str, reason: str, satisfaction: str, relapse: bool,
                 note: str | None, actor: Actor) -> None:
    """回访 by follow-up staff or a clerk (the supervisors' action does the same)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("请填写回访情况", "a reason is required", field="reason")
    with on_dispute(ctx, dispute_id, actor) as op:
        record_follow_up(op, reason, satisfaction, relapse, note)


def record_follow_up(op: Operation, reason: str, satisfaction: str, relapse: bool, note: str | None) -> None:
    """回访: satisfied (or basically) closes the dispute; dissatisfied starts 重办; a relapse puts it
    back before supervisors. On a closed dispute the visit is recorded, and a relapse reopens it."""
    d = op.dispute
    if d.state not in (DisputeState.FOLLOW_UP, DisputeState.CLOSED):
        raise DISPUTE.refuse(d.state, "登记回访", "record a follow-up visit")
    op.event("dispute.follow_up_recorded", {"reason": reason, "satisfaction": satisfaction, "relapse": relapse,
                                            "note": note})
    if d.state == DisputeState.CLOSED:
        if relapse:
            agreement.reopen(op, joined("回访发现复发：", reason))
        return
    op.uow.cancel_timers(op.at, dispute_id=d.id, kinds=("follow_up_due",))
    if relapse:
        op.fire_dispute("relapse", extra={"reason": joined("回访发现复发：", reason)})
        op.uow.cancel_timers(op.at, dispute_id=d.id)
    elif satisfaction == Satisfaction.DISSATISFIED:
        redo(op, reason)
    else:
        said = SATISFACTION_ZH[Satisfaction(satisfaction)]
        agreement.close_dispute(op, "followed_up", joined(f"已回访（{said}）：", reason))
