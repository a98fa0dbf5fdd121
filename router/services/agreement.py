"""The lead's outcome and what follows it (docs/domain.md §8): an agreement goes to fulfilment, with a
court's judicial confirmation when the parties ask for it, then to the follow-up visit; a failed
mediation goes to the category's next body or ends as 引导诉讼; a withdrawal closes. Only the centre
closes a dispute, and a relapse found on the follow-up visit reopens it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from router.domain.errors import StateConflict, ValidationError
from router.domain.model import BodyType, OutcomeResult, Tier, body_zh
from router.domain.personal_text import joined
from router.domain.registry import AgencyInfo
from router.domain.rules import next_candidate
from router.services import clock, linkage
from router.services.dispatch import offer, place_lead, recall, tried
from router.services.facts import facts_of
from router.services.operation import Operation
from router.store.models import Handoff
from router.store.uow import jsonable
from router.workflows.dispute import DISPUTE, DisputeState
from router.workflows.handoff import OPEN, HandoffRole


def _outcome(op: Operation, **changes: Any) -> None:
    op.dispute.outcome = jsonable({**(op.dispute.outcome or {}), **changes})


# --------------------------------------------------------------------------- the lead's outcome
def lead_result(op: Operation, h: Handoff, outcome: dict[str, Any]) -> None:
    """The lead reported its outcome: the dispute takes its next step."""
    d, result = op.dispute, outcome["result"]
    agency = {"agency": h.agency_code, "handoff_id": h.id}
    if d.state == DisputeState.HANDED_OFF:  # an implied acknowledgement already started handling; kept for safety
        op.fire_dispute("start_handling", extra=agency)
    if result == OutcomeResult.AGREEMENT:
        agreement = dict(outcome.get("agreement") or {})
        d.outcome = jsonable({"result": result, "agreed_at": op.at, **agency, "agreement": agreement})
        op.fire_dispute("agree", extra={**agency, "tier": op.tier_of(h.agency_code), "agreement": agreement},
                        inputs=clock.confirmation_window_inputs(op))
        if not agreement.get("judicial_confirmation"):
            start_fulfilment(op)
        elif _court(op) is None:  # the parties' wish stands on the record; the agreement is performed
            no_court = "辖区内没有可受理司法确认的法院"
            _outcome(op, confirmation={"confirmed": False, "at": op.at, "court": None, "handoff_id": None,
                                       "reason": no_court})
            start_fulfilment(op.by_system(), note=f"当事人申请司法确认，但{no_court}，协议按约履行")
        else:
            request_confirmation(op, "当事人共同申请司法确认")
    elif result == OutcomeResult.FAILED:
        d.outcome = jsonable({"result": result, "failed_at": op.at, **agency})
        after_failure(op, h)
    elif result == OutcomeResult.WITHDRAWN:
        d.outcome = jsonable({"result": result, "withdrawn_at": op.at, **agency})
        close_dispute(op.by_system(), "withdrawn", f"申请人撤回（{h.agency_code}报告）")
    else:  # an opinion is an expert's, never a lead's (handling refuses it before)
        raise ValidationError("主办单位不能报告专家意见", "a lead reports no opinion", field="outcome.result")


def after_failure(op: Operation, h: Handoff, reason: str | None = None) -> None:
    """Mediation failed (or a labour mediation ran out its 15 days): the category's next body
    (labour -> arbitration ...), or guidance to court."""
    d, op = op.dispute, op.by_system()
    if (d.referral or {}).get("body_type") == "court":  # the court continues its own procedure
        close_dispute(op, "returned_to_court", "委派调解不成，退回人民法院依法处理")
        return
    cat = op.config.ruleset.categories.get(d.category)
    nxt = cat.next_on_failure if cat else None
    if nxt is None or str(nxt) == h.body_type:
        close_dispute(op, "guided_to_litigation", "调解不成，已引导当事人依法诉讼（引导诉讼）")
        return
    cand = next_candidate(facts_of(d), [nxt], Tier(d.tier or Tier.TOWN), op.ctx.registry(), tried(d))
    reason = reason or f"调解不成，依{d.category}规则转{body_zh(nxt)}"
    if cand is None:
        op.fire_dispute("route_to_supervisor", extra={"reason": f"{reason}，但辖区内没有可承接的单位",
                                                      "next_body_type": str(nxt)})
        return
    place_lead(op, cand.code, cand.body_type, extra={"reason": reason, "next_body_type": str(nxt), "after": h.id})


# --------------------------------------------------------------------------- judicial confirmation
def request_confirmation(op: Operation, reason: str) -> None:
    """司法确认: a court handoff, applied for within the window after the agreement took effect."""
    d = op.dispute
    outcome = d.outcome or {}
    if outcome.get("result") != OutcomeResult.AGREEMENT:
        raise StateConflict("没有调解协议，不能申请司法确认", "no agreement to confirm", state=d.state)
    if "request_confirmation" not in DISPUTE.triggers_from(d.state):
        raise DISPUTE.refuse(d.state, "申请司法确认", "request confirmation")
    window_end = clock.confirmation_window(op, datetime.fromisoformat(outcome["agreed_at"]))
    if op.at > window_end:
        raise StateConflict(f"已超过司法确认申请期限（{window_end.isoformat()}）",
                            f"the confirmation window ended at {window_end.isoformat()}", state=d.state)
    court = _court(op)
    if court is None:
        raise StateConflict("辖区内没有可受理司法确认的法院", "no court covers this division", state=d.state)
    op.fire_dispute("request_confirmation", extra={"reason": reason, "court": court.code})
    # The court's answer decides what follows; fulfilment starts (and its clock is set) after it.
    op.uow.cancel_timers(op.at, dispute_id=d.id, kinds=("confirmation_window", "fulfil_due"))
    offer(op, court.code, BodyType.COURT, HandoffRole.CONFIRM)


def _court(op: Operation) -> AgencyInfo | None:
    """The court that would confirm this dispute's agreement (the nearest covering its division)."""
    d = op.dispute
    return next_candidate(facts_of(d), [BodyType.COURT], Tier(d.tier or Tier.TOWN), op.ctx.registry(), frozenset())


def confirmation_result(op: Operation, h: Handoff, result: str) -> None:
    confirmed = result == OutcomeResult.AGREEMENT
    _outcome(op, confirmation={"confirmed": confirmed, "at": op.at, "court": h.agency_code, "handoff_id": h.id})
    if op.dispute.state == DisputeState.CONFIRMING:
        start_fulfilment(op, note="司法确认裁定有效" if confirmed else "法院未予确认，协议按约履行")


def confirmation_not_taken(op: Operation, h: Handoff, reason: str) -> None:
    """The court did not take the confirmation request (returned, silent, unreachable): the agreement
    is performed as it stands, and supervisors may apply again while the window is open."""
    _outcome(op, confirmation={"confirmed": False, "at": op.at, "court": h.agency_code, "handoff_id": h.id,
                               "reason": reason})
    if op.dispute.state == DisputeState.CONFIRMING:
        start_fulfilment(op.by_system(), note=joined("司法确认未获受理：", reason))


# --------------------------------------------------------------------------- fulfilment and follow-up
def start_fulfilment(op: Operation, note: str | None = None) -> None:
    fulfil_by = ((op.dispute.outcome or {}).get("agreement") or {}).get("fulfil_by")
    extra: dict[str, Any] = {"fulfil_by": fulfil_by, **({"note": note} if note else {})}
    op.fire_dispute("start_fulfilment", extra=extra, inputs=clock.fulfil_due_inputs(op, fulfil_by))


def record_fulfilment(op: Operation, fulfilment: dict[str, Any], via: Handoff | None = None) -> None:
    """履行完毕, reported by the lead or recorded by a supervisor; the follow-up visit falls due after it."""
    d = op.dispute
    if via is not None and via.role == HandoffRole.ASSIST:
        raise ValidationError("履行情况由主办单位报告", "only the lead reports fulfilment", field="fulfilment")
    if d.state not in (DisputeState.FULFILLING, DisputeState.UNFULFILLED, DisputeState.ENFORCING):
        raise DISPUTE.refuse(d.state, "登记履行情况", "record fulfilment", field="fulfilment")
    today = op.at.astimezone(op.config.calendar.tz).date()
    on = fulfilment.get("fulfilled_on") or today
    on = on if isinstance(on, date) else date.fromisoformat(str(on))
    if on > today:
        raise ValidationError("履行日期不能晚于今天", "fulfilled_on cannot be in the future",
                              field="fulfilment.fulfilled_on")
    inputs = clock.follow_up_inputs(op, on)
    for h in list(d.handoffs):  # performed after all: the court's enforcement application is moot
        if h.role == HandoffRole.ENFORCE and h.state in OPEN and h is not via:
            recall(op, h, "协议已履行，强制执行申请撤回")
    _outcome(op, fulfilment={"fulfilled_on": on, "note": fulfilment.get("note"), "recorded_by": op.actor.id,
                             "via": via.id if via else None})
    op.uow.cancel_timers(op.at, dispute_id=d.id, kinds=("fulfil_due",))
    op.fire_dispute("fulfil", extra={"fulfilled_on": on, "note": fulfilment.get("note"),
                                     "follow_up_due": inputs["follow_up_due"]}, inputs=inputs)


# --------------------------------------------------------------------------- closure
def close_dispute(op: Operation, code: str, reason: str) -> None:
    """办结: every open handoff is recalled, every pending timer cancelled, the reason recorded."""
    d = op.dispute
    for h in list(d.handoffs):
        if h.state in OPEN:
            recall(op, h, f"纠纷办结：{reason}")
    linkage.withdraw_waiting(op, f"纠纷办结：{reason}")
    d.closure = jsonable({"code": code, "reason": reason, "at": op.at, "by": op.actor.id})
    op.fire_dispute("close", extra={"reason": reason, "closure": code})
    op.uow.cancel_timers(op.at, dispute_id=d.id)


def reopen(op: Operation, reason: str) -> None:
    d = op.dispute
    previous = d.closure
    op.fire_dispute("reopen", extra={"reason": reason, "previous_closure": previous})
    d.closure = None
    op.uow.cancel_timers(op.at, dispute_id=d.id)  # the old agreement's clocks do not run on
