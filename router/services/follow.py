"""Following a dispute to closure (DOMAIN.md section 6): what each agency report and supervisor action
sets in motion. Every step fires the engine; callers hold one unit of work around a whole report.

The dispute's outcome is its lead's. Assisting handoffs run beside it and only record theirs. A
`confirm` handoff is the court's judicial confirmation of an agreement.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from router.adapters.base import urge_notice
from router.domain.calendar import Period
from router.domain.errors import StateConflict, ValidationError
from router.domain.ladder import Rung, ladder
from router.domain.model import BodyType, Tier
from router.domain.rules import BODY_NAMES_ZH, next_candidate
from router.services.context import SYSTEM, Actor, ServiceContext
from router.services.dispatch import (
    _tried,
    lead_type,
    offer,
    open_lead,
    place_lead,
    recall,
    transition_dispute,
    transition_handoff,
)
from router.services.facts import facts_of
from router.services.views import iso
from router.store.models import Dispute, Handoff, Timer
from router.store.uow import UnitOfWork, jsonable
from router.workflows import handoff as hw
from router.workflows.dispute import DISPUTE

RESULTS_ZH = {"agreement": "达成调解协议", "failed": "调解不成", "withdrawn": "申请人撤回"}


# --------------------------------------------------------------------------- timers
def add_timer(uow: UnitOfWork, d: Dispute, kind: str, due: datetime, rule: str, at: datetime,
              handoff_id: str | None = None) -> None:
    uow.session.add(Timer(kind=kind, due_at=due, rule=rule, dispute_id=d.id, handoff_id=handoff_id,
                          data={"handoff_id": handoff_id} if handoff_id else {}, created_at=at))


# --------------------------------------------------------------------------- agency reports
def acknowledge(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime,
                extra: dict[str, Any]) -> None:
    """签收: starts the handling clock; the lead's acknowledgement starts the dispute's handling."""
    body = ctx.config.bodies[BodyType(h.body_type)]
    key = "confirmation_rule" if h.role == "confirm" and "confirmation_rule" in body.extra else "handle"
    handle_due = ctx.config.calendar.deadline(at, body.extra.get(key) or body.handle)
    h.handle_due, h.acknowledged_at = handle_due, at
    h.deadline_rules = {**(h.deadline_rules or {}), "handle_due": body.rule(key), "handle_started": at.isoformat()}
    rungs = handle_rungs(ctx, h, at, handle_due)
    transition_handoff(uow, d, h, "acknowledge", actor, at, extra={**extra, "handle_due": handle_due},
                 ctx={"handle_due": handle_due, "handle_due_rule": h.deadline_rules["handle_due"],
                      "handle_rungs": rungs})
    uow.cancel_timers(at, handoff_id=h.id, kinds=("ack_warn", "ack_due"))
    if h.role == "lead" and d.state == "handed_off":
        transition_dispute(uow, d, "start_handling", actor, at, extra={"agency": h.agency_code})


def handle_rungs(ctx: ServiceContext, h: Handoff, start: datetime, due: datetime) -> list[Rung]:
    rungs = ladder(ctx.config.calendar, ctx.config.bodies.ladder(BodyType(h.body_type)), "handle", start, due,
                   (h.deadline_rules or {}).get("handle_due", ""))
    h.handle_warn_at = next((r.due for r in rungs if r.kind == "handle_warn"), None)
    return rungs


def ensure_acknowledged(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor,
                        at: datetime, because: str) -> None:
    """A report that only makes sense after 签收 implies it; recorded as implied, not invented."""
    if h.state in ("offered", "delivered"):
        acknowledge(ctx, uow, d, h, actor, at, {"implied": True, "implied_by": because})


def return_handoff(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime,
                   reason: str, basis: str, extra: dict[str, Any]) -> None:
    """退回: allowed within the return window and never on a designated handoff; the lead is re-routed."""
    if h.state in ("offered", "delivered", "acknowledged"):
        if h.designated:
            raise StateConflict("该事项为指定办理，不得退回", "a designated handoff may not be returned",
                                state=h.state)
        if h.return_due is not None and at > h.return_due:
            raise StateConflict(f"已超过退回期限（{h.return_due.isoformat()}），应依法办理",
                                f"the return window ended at {h.return_due.isoformat()}", state=h.state)
    h.returned_reason = reason
    transition_handoff(uow, d, h, "return_", actor, at, extra={**extra, "reason": reason, "basis": basis})
    if h.role == "lead":
        from router.services.delivery import reroute_after_failure

        reroute_after_failure(ctx, uow, d, h, at, f"{h.agency_code}退回：{reason}")
    elif h.role == "confirm":
        confirmation_not_taken(ctx, uow, d, h, at, f"{h.agency_code}退回：{reason}")


def confirmation_not_taken(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, at: datetime,
                           reason: str) -> None:
    """The court did not take the confirmation request (returned, silent, unreachable): the agreement
    is performed as it stands, and supervisors may apply again while the window is open."""
    d.outcome = jsonable({**(d.outcome or {}), "confirmation": {"confirmed": False, "at": at, "court": h.agency_code,
                                                              "handoff_id": h.id, "reason": reason}})
    if d.state == "confirming":
        start_fulfilment(ctx, uow, d, SYSTEM, at, note=f"司法确认未获受理：{reason}")


def progress(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime,
             extra: dict[str, Any], fulfilment: dict[str, Any] | None) -> None:
    ensure_acknowledged(ctx, uow, d, h, actor, at, "progress")
    transition_handoff(uow, d, h, "progress", actor, at, extra=extra)
    if fulfilment:
        record_fulfilment(ctx, uow, d, actor, at, fulfilment, via=h)


def report_outcome(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime,
                   outcome: dict[str, Any], extra: dict[str, Any]) -> None:
    """调解结果: the handoff completes; for the lead, the dispute takes the next step of DOMAIN.md section 6."""
    ensure_acknowledged(ctx, uow, d, h, actor, at, "outcome")
    result = outcome["result"]
    h.outcome, h.completed_at = jsonable(outcome), at
    transition_handoff(uow, d, h, "complete", actor, at, extra={**extra, "outcome": h.outcome})
    if h.role == "confirm":
        _confirmation_result(ctx, uow, d, h, actor, at, result)
    elif h.role == "lead":
        _lead_result(ctx, uow, d, h, actor, at, result, outcome)


def close_handoff(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime,
                  extra: dict[str, Any], fulfilment: dict[str, Any] | None) -> None:
    """The body closes its own file. The dispute stays open: only the centre closes a dispute."""
    if fulfilment:
        record_fulfilment(ctx, uow, d, actor, at, fulfilment, via=h)
    transition_handoff(uow, d, h, "close", actor, at, extra=extra)


def _lead_result(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime,
                 result: str, outcome: dict[str, Any]) -> None:
    agency = {"agency": h.agency_code, "handoff_id": h.id}
    if d.state == "handed_off":  # an implied acknowledgement already started handling; kept for safety
        transition_dispute(uow, d, "start_handling", actor, at, extra=agency)
    if result == "agreement":
        agreement = dict(outcome.get("agreement") or {})
        d.outcome = jsonable({"result": result, "agreed_at": at, **agency, "agreement": agreement})
        transition_dispute(uow, d, "agree", actor, at, extra={**agency, "agreement": agreement})
        window = ctx.config.bodies.confirmation_window
        add_timer(uow, d, "confirmation_window", ctx.config.calendar.deadline(at, window),
                  f"协议生效后{window.describe_zh()}内可申请司法确认", at)
        if agreement.get("judicial_confirmation"):
            request_confirmation(ctx, uow, d, actor, at, "当事人共同申请司法确认")
        else:
            start_fulfilment(ctx, uow, d, actor, at)
    elif result == "failed":
        d.outcome = jsonable({"result": result, "failed_at": at, **agency})
        _after_failure(ctx, uow, d, h, actor, at)
    else:  # withdrawn
        d.outcome = jsonable({"result": result, "withdrawn_at": at, **agency})
        close_dispute(uow, d, SYSTEM, at, "withdrawn", f"申请人撤回（{h.agency_code}报告）")


def _after_failure(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor,
                   at: datetime) -> None:
    """Mediation failed: the category's next body (labour -> arbitration ...), or guidance to court."""
    cat = ctx.config.ruleset.categories.get(d.category)
    nxt = cat.next_on_failure if cat else None
    if nxt is None or str(nxt) == h.body_type:
        close_dispute(uow, d, SYSTEM, at, "guided_to_litigation", "调解不成，已引导当事人依法诉讼（引导诉讼）")
        return
    cand = next_candidate(facts_of(d), [nxt], Tier(d.tier or Tier.TOWN), ctx.registry(), _tried(d))
    reason = f"调解不成，依{d.category}规则转{BODY_NAMES_ZH.get(nxt, str(nxt))}"
    if cand is None:
        transition_dispute(uow, d, "route_to_supervisor", SYSTEM, at,
                           extra={"reason": f"{reason}，但辖区内没有可承接的单位", "next_body_type": str(nxt)})
        return
    place_lead(ctx, uow, d, cand.code, cand.body_type, SYSTEM, at,
               extra={"reason": reason, "next_body_type": str(nxt), "after": h.id})


def _confirmation_result(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor,
                         at: datetime, result: str) -> None:
    confirmed = result == "agreement"
    d.outcome = jsonable({**(d.outcome or {}), "confirmation": {"confirmed": confirmed, "at": at,
                                                              "court": h.agency_code, "handoff_id": h.id}})
    if d.state == "confirming":
        start_fulfilment(ctx, uow, d, actor, at,
                         note="司法确认裁定有效" if confirmed else "法院未予确认，协议按约履行")


# --------------------------------------------------------------------------- agreement and after
def request_confirmation(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, actor: Actor, at: datetime,
                         reason: str) -> None:
    """司法确认: a court handoff, applied for within the window after the agreement took effect."""
    outcome = d.outcome or {}
    if outcome.get("result") != "agreement":
        raise StateConflict("没有调解协议，不能申请司法确认", "no agreement to confirm", state=d.state)
    if "request_confirmation" not in DISPUTE.triggers_from(d.state):
        raise StateConflict("当前状态不能申请司法确认", f"cannot request confirmation in state {d.state!r}",
                            state=d.state)
    agreed_at = datetime.fromisoformat(outcome["agreed_at"])
    window_end = ctx.config.calendar.deadline(agreed_at, ctx.config.bodies.confirmation_window)
    if at > window_end:
        raise StateConflict(f"已超过司法确认申请期限（{window_end.isoformat()}）",
                            f"the confirmation window ended at {window_end.isoformat()}", state=d.state)
    court = next_candidate(facts_of(d), [BodyType.COURT], Tier(d.tier or Tier.TOWN), ctx.registry(), frozenset())
    if court is None:
        raise StateConflict("辖区内没有可受理司法确认的法院", "no court covers this division", state=d.state)
    transition_dispute(uow, d, "request_confirmation", actor, at, extra={"reason": reason, "court": court.code})
    uow.cancel_timers(at, dispute_id=d.id, kinds=("confirmation_window", "fulfil_due"))  # set again after it
    offer(ctx, uow, d, court.code, BodyType.COURT, "confirm", actor, at)


def start_fulfilment(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, actor: Actor, at: datetime,
                     note: str | None = None) -> None:
    agreement = (d.outcome or {}).get("agreement") or {}
    fulfil_by = agreement.get("fulfil_by")
    extra: dict[str, Any] = {"fulfil_by": fulfil_by}
    if note:
        extra["note"] = note
    transition_dispute(uow, d, "start_fulfilment", actor, at, extra=extra)
    if fulfil_by:
        due = ctx.config.calendar.end_of(date.fromisoformat(fulfil_by))
        add_timer(uow, d, "fulfil_due", due, "调解协议约定的履行期限", at)


def record_fulfilment(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, actor: Actor, at: datetime,
                      fulfilment: dict[str, Any], via: Handoff | None = None) -> None:
    """履行完毕: the follow-up visit falls due 30 days after the fulfilment date [default]."""
    if via is not None and via.role == "assist":
        raise ValidationError("履行情况由主办单位报告", "only the lead reports fulfilment", field="fulfilment")
    if d.state != "fulfilling":
        zh = DISPUTE.state_names_zh.get(d.state, d.state)
        raise StateConflict(f"当前状态（{zh}）不能登记履行情况", f"no fulfilment to record in state {d.state!r}",
                            state=d.state, field="fulfilment")
    today = at.astimezone(ctx.config.calendar.tz).date()
    on = fulfilment.get("fulfilled_on") or today
    on = on if isinstance(on, date) else date.fromisoformat(str(on))
    if on > today:
        raise ValidationError("履行日期不能晚于今天", "fulfilled_on cannot be in the future",
                              field="fulfilment.fulfilled_on")
    start = datetime.combine(on, time(12), tzinfo=ctx.config.calendar.tz)
    follow_up_due = ctx.config.calendar.deadline(start, ctx.config.bodies.follow_up_after)
    d.outcome = jsonable({**(d.outcome or {}), "fulfilment": {"fulfilled_on": on, "note": fulfilment.get("note"),
                                                           "recorded_by": actor.id, "via": via.id if via else None}})
    transition_dispute(uow, d, "fulfil", actor, at,
                       extra={"fulfilled_on": on, "note": fulfilment.get("note"), "follow_up_due": follow_up_due})
    uow.cancel_timers(at, dispute_id=d.id, kinds=("fulfil_due",))
    add_timer(uow, d, "follow_up_due", follow_up_due, f"履行后{ctx.config.bodies.follow_up_after}回访", at)


def close_dispute(uow: UnitOfWork, d: Dispute, actor: Actor, at: datetime, code: str, reason: str) -> None:
    """办结: every open handoff is recalled, every pending timer cancelled, the reason recorded."""
    for h in list(d.handoffs):
        if h.state in hw.OPEN_STATES:
            recall(uow, d, h, actor, at, f"纠纷办结：{reason}")
    d.closure = jsonable({"code": code, "reason": reason, "at": at, "by": actor.id})
    transition_dispute(uow, d, "close", actor, at, extra={"reason": reason, "closure": code})
    uow.cancel_timers(at, dispute_id=d.id)


# --------------------------------------------------------------------------- moving a handling deadline
HANDLE_RUNGS = ("handle_warn", "handle_due", "handle_urge", "handle_escalate")


def _handle_period(ctx: ServiceContext, h: Handoff) -> Period:
    body = ctx.config.bodies[BodyType(h.body_type)]
    return (body.extra.get("confirmation_rule") if h.role == "confirm" else None) or body.handle


def _handling(h: Handoff, what: str) -> None:
    if h.state not in ("acknowledged", "in_progress"):
        zh = hw.STATE_NAMES_ZH.get(h.state, h.state)
        raise StateConflict(f"当前状态（{zh}）不能{what}", f"cannot {what} in state {h.state!r}", state=h.state)


def move_handle_deadline(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime,
                         new_due: datetime, data: dict[str, Any]) -> None:
    """A new handling deadline, audited with the old one, and the ladder set again from it."""
    old = h.handle_due
    h.handle_due, h.updated_at, d.updated_at = new_due, at, at
    h.escalated_at = None
    uow.cancel_timers(at, handoff_id=h.id, kinds=HANDLE_RUNGS)
    if not (h.deadline_rules or {}).get("suspended_at"):  # a stopped clock gets its ladder when it resumes
        for r in handle_rungs(ctx, h, at, new_due):
            add_timer(uow, d, r.kind, r.due, r.rule, at, handoff_id=h.id)
    uow.append_event(type="handoff.deadline_moved", actor=actor.id, at=at, dispute=d, handoff_id=h.id,
                     data={"deadline": "handle_due", "from": old, "to": new_due, **data})


def extend(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime, reason: str,
           period: Period | None) -> None:
    """延期 by the parties' consent, capped by the body type's `extension` in bodies.yaml."""
    _handling(h, "延长办理期限")
    extra_periods = ctx.config.bodies[BodyType(h.body_type)].extra
    cap = extra_periods.get("confirmation_extension" if h.role == "confirm" else "extension")
    if cap is None:
        raise ValidationError("该类机构没有可延长的办理期限", f"{h.body_type} has no extension", field="period")
    rules = dict(h.deadline_rules or {})
    used = sum(Period.parse(x["period"]).amount for x in rules.get("extensions", []))
    period = period or (Period(cap.amount - used, cap.unit) if cap.amount > used else None)
    if period is None or period.unit != cap.unit or used + period.amount > cap.amount:
        left = f"{cap.amount - used}{str(cap)[len(str(cap.amount)):]}" if cap.amount > used else "0"
        raise ValidationError(f"延长期限超过上限（共{cap.describe_zh()}，尚余{left}）",
                              f"extension over the cap of {cap} ({left} left)", field="period")
    rules["extensions"] = [*rules.get("extensions", []), {"period": str(period), "at": at.isoformat(),
                                                          "reason": reason, "by": actor.id}]
    h.deadline_rules = rules
    new_due = ctx.config.calendar.deadline(h.handle_due, period)
    move_handle_deadline(ctx, uow, d, h, actor, at, new_due,
                         {"why": "extension", "period": str(period), "reason": reason, "cap": str(cap)})


def suspend_clock(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime,
                  reason: str) -> None:
    """An excluded interval starts (e.g. 医疗损害鉴定): the handling clock stops, its ladder paused."""
    _handling(h, "中止计时")
    rules = dict(h.deadline_rules or {})
    if rules.get("suspended_at"):
        raise StateConflict("办理期限已中止计时", "the clock is already stopped", state=h.state)
    rules["suspended_at"], rules["suspended_reason"] = at.isoformat(), reason
    h.deadline_rules = rules
    uow.cancel_timers(at, handoff_id=h.id, kinds=HANDLE_RUNGS)
    uow.append_event(type="handoff.clock_stopped", actor=actor.id, at=at, dispute=d, handoff_id=h.id,
                     data={"deadline": "handle_due", "due": h.handle_due, "reason": reason})


def resume_clock(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime,
                 reason: str) -> None:
    """The excluded interval ends: the deadline moves by its length, counted in the deadline's own unit."""
    _handling(h, "恢复计时")
    rules = dict(h.deadline_rules or {})
    if not rules.get("suspended_at"):
        raise StateConflict("办理期限没有中止，无需恢复", "the clock is not stopped", state=h.state)
    since = datetime.fromisoformat(rules.pop("suspended_at"))
    why = rules.pop("suspended_reason", "")
    unit = _handle_period(ctx, h).unit
    n = ctx.config.calendar.span(since, at, unit)
    rules["excluded"] = [*rules.get("excluded", []), {"from": since.isoformat(), "to": at.isoformat(),
                                                      "amount": n, "unit": str(unit), "reason": why}]
    h.deadline_rules = rules
    old = h.handle_due
    new_due = ctx.config.calendar.deadline(old, Period(n, unit)) if n >= 1 else old
    move_handle_deadline(ctx, uow, d, h, actor, at, new_due,
                         {"why": "excluded_interval", "excluded_from": since, "excluded": f"{n} {unit}",
                          "reason": why or reason})


# --------------------------------------------------------------------------- supervisor actions
def urge(uow: UnitOfWork, d: Dispute, actor: Actor, at: datetime, reason: str, handoff_id: str | None) -> Handoff:
    """催办 by a supervisor: recorded, and sent to the agency; the handoff's state does not change."""
    h = target_handoff(d, handoff_id)
    send_urge(uow, d, h, actor, at, reason)
    return h


def send_urge(uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime, reason: str, *,
              escalated: bool = False) -> None:
    """An urge (or 督办 notice) on the timeline and, through the outbox and the adapter, at the agency."""
    deadline = "ack_due" if h.state in ("offered", "delivered") else "handle_due"
    due = h.ack_due if deadline == "ack_due" else h.handle_due
    if not escalated:
        h.urged = (h.urged or 0) + 1
    h.updated_at = d.updated_at = at
    data = {"reason": reason, "agency": h.agency_code, "count": h.urged or 0, "state": h.state,
            "deadline": deadline, "due": due}
    uow.append_event(type="handoff.escalated" if escalated else "handoff.urged", actor=actor.id, at=at, dispute=d,
                     handoff_id=h.id, data=data)
    notice = urge_notice(h.id, d.reference, deadline, iso(due), max(h.urged or 0, 1), reason, at.isoformat(),
                         escalated=escalated)
    uow.add_message("handoff.urged", h.body_type, {**notice, "agency": h.agency_code}, at=at, dispute_id=d.id,
                    handoff_id=h.id)


def escalate(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, actor: Actor, at: datetime, reason: str,
             agency_code: str | None, agency_body_type: str | None, agency_tier: str | None = None) -> None:
    """提级: the lead goes one tier up (or to the named agency, then designated), the current lead recalled."""
    if "reroute" not in DISPUTE.triggers_from(d.state):
        zh = DISPUTE.state_names_zh.get(d.state, d.state)
        raise StateConflict(f"当前状态（{zh}）不能提级", f"cannot escalate in state {d.state!r}", state=d.state)
    current = Tier(d.tier or Tier.TOWN)
    if current == Tier.CITY and agency_code is None:
        raise StateConflict("已是最高层级，不能再提级", "already at the top tier", state=d.state)
    up = current.up() or current
    lead = open_lead(d)
    body = BodyType(agency_body_type or (lead.body_type if lead else lead_type(d)))
    designated = agency_code is not None
    if agency_code is None:
        cand = next_candidate(facts_of(d), [body], up, ctx.registry(), _tried(d))
        if cand is None:
            raise ValidationError(f"上一层级（{up}）没有可承接的{BODY_NAMES_ZH.get(body, str(body))}，请指定承办单位",
                                  f"no {body} at tier {up} or above: name an agency", field="agency")
        agency_code, body = cand.code, cand.body_type
        up = cand.tier
    elif agency_tier:
        up = Tier(agency_tier)  # a named agency: the dispute sits at that agency's tier
    if lead is not None:
        recall(uow, d, lead, actor, at, f"提级：{reason}")
    d.tier = str(up)
    place_lead(ctx, uow, d, agency_code, body, actor, at,
               extra={"reason": reason, "action": "escalate", "from_tier": str(current), "to_tier": str(up)},
               designated=designated)


def record_follow_up(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, actor: Actor, at: datetime, reason: str,
                     satisfaction: str, relapse: bool, note: str | None) -> None:
    """回访: satisfied -> the centre closes the dispute; a relapse puts it back before supervisors."""
    data = {"reason": reason, "satisfaction": satisfaction, "relapse": relapse, "note": note}
    if d.state == "follow_up":
        uow.append_event(type="dispute.follow_up_recorded", actor=actor.id, at=at, dispute=d, data=data)
        uow.cancel_timers(at, dispute_id=d.id, kinds=("follow_up_due",))
        if relapse:
            transition_dispute(uow, d, "relapse", actor, at, extra={"reason": f"回访发现复发：{reason}"})
            uow.cancel_timers(at, dispute_id=d.id)
        else:
            close_dispute(uow, d, actor, at, "followed_up", f"已回访（{SATISFACTION_ZH[satisfaction]}）：{reason}")
    elif d.state == "closed":
        uow.append_event(type="dispute.follow_up_recorded", actor=actor.id, at=at, dispute=d, data=data)
        if relapse:
            reopen(uow, d, actor, at, f"回访发现复发：{reason}")
    else:
        zh = DISPUTE.state_names_zh.get(d.state, d.state)
        raise StateConflict(f"当前状态（{zh}）不能登记回访", f"no follow-up visit in state {d.state!r}",
                            state=d.state)


def reopen(uow: UnitOfWork, d: Dispute, actor: Actor, at: datetime, reason: str) -> None:
    previous = d.closure
    transition_dispute(uow, d, "reopen", actor, at, extra={"reason": reason, "previous_closure": previous})
    d.closure = None
    uow.cancel_timers(at, dispute_id=d.id)  # the old agreement's clocks do not run on


SATISFACTION_ZH = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}


# --------------------------------------------------------------------------- helpers
def target_handoff(d: Dispute, handoff_id: str | None) -> Handoff:
    if handoff_id:
        h = next((x for x in d.handoffs if x.id == handoff_id), None)
        if h is None:
            raise ValidationError("该纠纷没有这个移交记录", "no such handoff on this dispute", field="handoff")
    else:
        h = open_lead(d) or next((x for x in d.handoffs if x.state in hw.OPEN_STATES), None)
        if h is None:
            raise StateConflict("没有正在办理的移交，无需催办", "no open handoff to urge", state=d.state)
    if h.state not in hw.OPEN_STATES:
        raise StateConflict("该移交已结束，不能催办", "the handoff is no longer open", state=h.state)
    return h


