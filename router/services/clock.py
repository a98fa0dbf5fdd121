"""The SLA clock (docs/domain.md §5-6): every deadline a handoff or a dispute gets is computed here,
stored as an instant with the rule that made it, and handed to the engine, whose transitions turn
it into timers. Extensions and excluded intervals move a handling deadline, audited with the old one.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from router.domain.calendar import Period
from router.domain.clocks import VIOLENCE, VIOLENCE_FLAGS, UrgentClock
from router.domain.errors import StateConflict, ValidationError
from router.domain.ladder import Rung, ladder
from router.domain.model import BodyType, Tier
from router.services.operation import Operation
from router.store.models import Handoff
from router.workflows.handoff import HANDLING, HANDOFF, HandoffRole

HANDLE_RUNGS = ("handle_warn", "handle_due", "handle_urge", "handle_escalate")


def parse_period(text: str | None, field: str) -> Period | None:
    if not text:
        return None
    try:
        return Period.parse(text)
    except ValueError:
        raise ValidationError(f"期限格式无效：{text}（例如 15c、10w）", f"not a period: {text!r}",
                              field=field) from None


# --------------------------------------------------------------------------- a handoff's clocks
def urgent_clock(op: Operation, h: Handoff) -> tuple[str, UrgentClock] | None:
    """The urgent 签收 clock a handoff runs on, if any: a lead of a 12345 order marked life_safety or
    utilities, until one acknowledged it; the police on a dispute flagged domestic violence or a
    violence threat."""
    d, urgent = op.dispute, op.config.bodies.urgent
    answered = any(x.role == HandoffRole.LEAD and x.acknowledged_at for x in d.handoffs)
    if h.role == HandoffRole.LEAD and d.urgency in urgent and not answered:  # not a 重办 weeks later
        return str(d.urgency), urgent[str(d.urgency)]
    if h.body_type == BodyType.POLICE and VIOLENCE in urgent and VIOLENCE_FLAGS & set(d.risk_flags or ()):
        return VIOLENCE, urgent[VIOLENCE]
    return None


def ack_clock(op: Operation, h: Handoff) -> dict[str, Any]:
    """Offer starts the acknowledgement and return windows; a judicial-confirmation request runs on
    the court's confirmation clock (司法确认规定第4-5条), an urgent order on its minutes. Sets them on
    `h`; returns the engine's inputs (and the tier's time box, when configured, for a lead)."""
    body = op.config.bodies[BodyType(h.body_type)]
    cal = op.config.calendar
    box = _tier_box(op, h)
    if (urgent := urgent_clock(op, h)) is not None:
        name, clk = urgent
        h.ack_due = h.return_due = cal.deadline(op.at, clk.acknowledge)
        h.deadline_rules = {"ack_due": clk.rule(name), "return_due": clk.rule(name), "urgent": name}
        steps = {**op.config.bodies.ladder(BodyType(h.body_type)), "warn_before": clk.warn_before}
        rungs = ladder(cal, steps, "ack", op.at, h.ack_due, h.deadline_rules["ack_due"])
        h.ack_warn_at = next((r.due for r in rungs if r.kind == "ack_warn"), None)
        return {"ack_due": h.ack_due, "ack_due_rule": h.deadline_rules["ack_due"], "ack_rungs": rungs,
                "return_due": h.return_due, "return_due_rule": h.deadline_rules["return_due"], **box}
    key = "confirmation_accept" if h.role == HandoffRole.CONFIRM and "confirmation_accept" in body.extra \
        else "acknowledge"
    h.ack_due = cal.deadline(op.at, body.extra.get(key) or body.acknowledge)
    h.return_due = cal.deadline(op.at, body.extra.get(key) or body.return_within)
    h.deadline_rules = {"ack_due": body.rule(key), "return_due": body.rule(key if key != "acknowledge"
                                                                           else "return_within")}
    rungs = ladder(cal, op.config.bodies.ladder(BodyType(h.body_type)), "ack", op.at, h.ack_due,
                   h.deadline_rules["ack_due"])
    h.ack_warn_at = next((r.due for r in rungs if r.kind == "ack_warn"), None)
    return {"ack_due": h.ack_due, "ack_due_rule": h.deadline_rules["ack_due"], "ack_rungs": rungs,
            "return_due": h.return_due, "return_due_rule": h.deadline_rules["return_due"], **box}


def _tier_box(op: Operation, h: Handoff) -> dict[str, Any]:
    """分级调处时限: a lead placed at a boxed tier must reach an outcome within the box, or be lifted."""
    tier = op.tier_of(h.agency_code)
    box = op.config.bodies.time_boxes.get(Tier(tier)) if tier and h.role == HandoffRole.LEAD else None
    if box is None:
        return {}
    return {"tier_box": op.config.calendar.deadline(op.at, box),
            "tier_box_rule": f"time_boxes.{tier}={box}（分级调处时限：{box.describe_zh()}内未化解即上交）"}


def handle_clock(op: Operation, h: Handoff) -> dict[str, Any]:
    """签收 starts the handling clock. Sets it on `h`; returns the engine's inputs."""
    body = op.config.bodies[BodyType(h.body_type)]
    key = "confirmation_rule" if h.role == HandoffRole.CONFIRM and "confirmation_rule" in body.extra else "handle"
    h.handle_due, h.acknowledged_at = op.config.calendar.deadline(op.at, body.extra.get(key) or body.handle), op.at
    h.deadline_rules = {**(h.deadline_rules or {}), "handle_due": body.rule(key), "handle_started": op.at.isoformat()}
    return _handle_inputs(op, h, op.at)


def _handle_inputs(op: Operation, h: Handoff, start: datetime) -> dict[str, Any]:
    rule = (h.deadline_rules or {}).get("handle_due", "")
    rungs: list[Rung] = ladder(op.config.calendar, op.config.bodies.ladder(BodyType(h.body_type)), "handle", start,
                               h.handle_due, rule)
    h.handle_warn_at = next((r.due for r in rungs if r.kind == "handle_warn"), None)
    return {"handle_due": h.handle_due, "handle_due_rule": rule, "handle_rungs": rungs}


def _handle_period(op: Operation, h: Handoff) -> Period:
    body = op.config.bodies[BodyType(h.body_type)]
    return (body.extra.get("confirmation_rule") if h.role == HandoffRole.CONFIRM else None) or body.handle


def _handling(h: Handoff, what_zh: str, what_en: str) -> None:
    if h.state not in HANDLING:
        raise HANDOFF.refuse(h.state, what_zh, what_en)


def move_handle_deadline(op: Operation, h: Handoff, new_due: datetime, data: dict[str, Any]) -> None:
    """A new handling deadline, audited with the old one; the ladder starts again from it (unless
    the clock is stopped: it gets its ladder when it resumes)."""
    old = h.handle_due
    h.handle_due, h.escalated_at = new_due, None
    op.uow.cancel_timers(op.at, handoff_id=h.id, kinds=HANDLE_RUNGS)
    stopped = bool((h.deadline_rules or {}).get("suspended_at"))
    inputs = {} if stopped else _handle_inputs(op, h, op.at)
    op.fire_handoff(h, "move_deadline", extra={"deadline": "handle_due", "from": old, "to": new_due, **data},
                    inputs=inputs)


def extend(op: Operation, h: Handoff, reason: str, period: Period | None) -> None:
    """延期 by the parties' consent, capped by the body type's `extension` in bodies.yaml."""
    _handling(h, "延长办理期限", "extend")
    extra_periods = op.config.bodies[BodyType(h.body_type)].extra
    cap = extra_periods.get("confirmation_extension" if h.role == HandoffRole.CONFIRM else "extension")
    if cap is None:
        raise ValidationError("该类机构没有可延长的办理期限", f"{h.body_type} has no extension", field="period")
    rules = dict(h.deadline_rules or {})
    used = sum(Period.parse(x["period"]).amount for x in rules.get("extensions", []))
    period = period or (Period(cap.amount - used, cap.unit) if cap.amount > used else None)
    if period is None or period.unit != cap.unit or used + period.amount > cap.amount:
        left = f"{cap.amount - used}{str(cap)[len(str(cap.amount)):]}" if cap.amount > used else "0"
        raise ValidationError(f"延长期限超过上限（共{cap.describe_zh()}，尚余{left}）",
                              f"extension over the cap of {cap} ({left} left)", field="period")
    rules["extensions"] = [*rules.get("extensions", []), {"period": str(period), "at": op.at.isoformat(),
                                                          "reason": reason, "by": op.actor.id}]
    h.deadline_rules = rules
    new_due = op.config.calendar.deadline(h.handle_due, period)
    move_handle_deadline(op, h, new_due, {"why": "extension", "period": str(period), "reason": reason,
                                          "cap": str(cap)})


def suspend(op: Operation, h: Handoff, reason: str) -> None:
    """An excluded interval starts (e.g. 医疗损害鉴定): the handling clock stops, its ladder paused."""
    _handling(h, "中止计时", "stop the clock")
    rules = dict(h.deadline_rules or {})
    if rules.get("suspended_at"):
        raise StateConflict("办理期限已中止计时", "the clock is already stopped", state=h.state)
    rules["suspended_at"], rules["suspended_reason"] = op.at.isoformat(), reason
    h.deadline_rules = rules
    op.uow.cancel_timers(op.at, handoff_id=h.id, kinds=HANDLE_RUNGS)
    op.event("handoff.clock_stopped", {"deadline": "handle_due", "due": h.handle_due, "reason": reason}, h)


def resume(op: Operation, h: Handoff, reason: str) -> None:
    """The excluded interval ends: the deadline moves by its length, counted in the deadline's own unit."""
    _handling(h, "恢复计时", "restart the clock")
    rules = dict(h.deadline_rules or {})
    if not rules.get("suspended_at"):
        raise StateConflict("办理期限没有中止，无需恢复", "the clock is not stopped", state=h.state)
    since = datetime.fromisoformat(rules.pop("suspended_at"))
    why = rules.pop("suspended_reason", "")
    unit = _handle_period(op, h).unit
    n = op.config.calendar.span(since, op.at, unit)
    rules["excluded"] = [*rules.get("excluded", []), {"from": since.isoformat(), "to": op.at.isoformat(),
                                                      "amount": n, "unit": str(unit), "reason": why}]
    h.deadline_rules = rules
    new_due = op.config.calendar.deadline(h.handle_due, Period(n, unit)) if n >= 1 else h.handle_due
    move_handle_deadline(op, h, new_due, {"why": "excluded_interval", "excluded_from": since,
                                          "excluded": f"{n} {unit}", "reason": why or reason})


# --------------------------------------------------------------------------- a dispute's clocks
def confirmation_window(op: Operation, agreed_at: datetime) -> datetime:
    """The end of the window to apply for judicial confirmation after an agreement (30 days [default])."""
    return op.config.calendar.deadline(agreed_at, op.config.bodies.confirmation_window)


def confirmation_window_inputs(op: Operation) -> dict[str, Any]:
    window = op.config.bodies.confirmation_window
    return {"confirmation_window": confirmation_window(op, op.at),
            "confirmation_window_rule": f"协议生效后{window.describe_zh()}内可申请司法确认"}


def fulfil_due_inputs(op: Operation, fulfil_by: str | None) -> dict[str, Any]:
    """The agreement's own date of performance, to the end of that day."""
    if not fulfil_by:
        return {}
    return {"fulfil_due": op.config.calendar.end_of(date.fromisoformat(fulfil_by)),
            "fulfil_due_rule": "调解协议约定的履行期限"}


def follow_up_inputs(op: Operation, fulfilled_on: date) -> dict[str, Any]:
    """The follow-up visit falls due 30 days after the fulfilment date [default]."""
    start = datetime.combine(fulfilled_on, time(12), tzinfo=op.config.calendar.tz)
    after = op.config.bodies.follow_up_after
    return {"follow_up_due": op.config.calendar.deadline(start, after), "follow_up_due_rule": f"履行后{after}回访"}


# --------------------------------------------------------------------------- the sender's clock
def sender_clock(op: Operation) -> None:
    """A referral's own deadline becomes the dispute's outer deadline (the court's entrusted-mediation
    period, a petition's 受理告知 date): stored on the referral with its rule, warned a working day
    before and escalated when it passes (timers `outer_warn`, `outer_due`)."""
    d = op.dispute
    ref = dict(d.referral or {})
    details, cal = ref.get("details") or {}, op.config.calendar
    if ref.get("body_type") == BodyType.COURT and details.get("mediation_days"):
        period = Period(int(details["mediation_days"]), "calendar")
        rule = f"法院委派调解期限{period.describe_zh()}（{details.get('case_no', '')}）"
        due = cal.deadline(op.at, period)
    elif ref.get("body_type") == BodyType.PETITION and details.get("notify_by"):
        due, rule = cal.end_of(date.fromisoformat(details["notify_by"])), "信访事项受理告知期限（信访工作条例第22条）"
    else:
        return
    d.referral = {**ref, "outer_due": due.isoformat(), "outer_due_rule": rule}
    warn = cal.before(due, Period.parse("1w"))
    for kind, at in (("outer_warn", warn), ("outer_due", due)):
        if at > op.at:
            op.uow.add_timer(kind, at, rule, at=op.at, dispute_id=d.id)
    op.event("dispute.outer_deadline_set", {"due": due, "rule": rule})
