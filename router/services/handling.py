"""What each report of the body holding a handoff sets in motion (docs/agency-guide.md §5): 签收,
退回, progress (with an extension, an excluded interval or the fulfilment), the outcome, 结案.

A report that only makes sense after 签收 implies it, recorded as implied. The dispute's outcome is
its lead's: assisting handoffs record only their own, and a `confirm` handoff's outcome is the
court's ruling on the agreement.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from router.domain.errors import StateConflict, ValidationError
from router.domain.model import RETURN_REASON_ZH, BodyType, OutcomeResult, ReportType, ReturnReason
from router.services import aftercare, agreement, clock, linkage
from router.services.not_taken import handoff_not_taken
from router.services.operation import Operation
from router.store.models import Handoff
from router.store.uow import jsonable
from router.workflows.dispute import DisputeState
from router.workflows.handoff import FINAL, HANDOFF, STATE_NAMES_ZH, WAITING, HandoffRole, HandoffState


def apply_report(op: Operation, h: Handoff, body: dict[str, Any]) -> None:
    """One agency report, checked and applied; raises before changing anything when it is wrong."""
    kind = body["type"]
    extra = {k: v for k, v in {"event_id": body["event_id"], "reported_at": body.get("occurred_at"),
                               "note": body.get("note")}.items() if v is not None}
    if op.dispute.state == DisputeState.ARCHIVED:  # the case file is sealed: nothing more is recorded
        raise StateConflict("该纠纷已归档，不再接受报告", "the dispute is archived", state=op.dispute.state)
    if h.state in FINAL:
        zh = STATE_NAMES_ZH.get(h.state, h.state)
        raise StateConflict(f"该移交已{zh}，不能再报告", f"the handoff is {h.state}", state=h.state)
    if body.get("reason_code") and kind != ReportType.RETURNED:
        raise ValidationError("退回原因代码只用于退回", "reason_code is for a return only", field="reason_code")
    if body.get("link") and kind != ReportType.LINK_REQUEST:
        raise ValidationError("link 只用于联动申请", "link is for a link_request only", field="link")
    if kind == ReportType.ACKNOWLEDGED:
        acknowledge(op, h, extra)
    elif kind == ReportType.RETURNED:
        reason, basis = (body.get("reason") or "").strip(), (body.get("basis") or "").strip()
        missing = {f: [("退回必须写明理由和法律依据", "required for a return")]
                   for f, v in (("reason", reason), ("basis", basis)) if not v}
        if missing:
            raise ValidationError("退回必须写明理由和依据", "a return needs a reason and a basis", fields=missing)
        return_handoff(op, h, reason, basis, ReturnReason(body.get("reason_code") or ReturnReason.OTHER), extra)
    elif kind == ReportType.PROGRESS:
        progress(op, h, extra, body)
    elif kind == ReportType.OUTCOME:
        report_outcome(op, h, _checked_outcome(op, h, body.get("outcome")), extra)
    elif kind == ReportType.LINK_REQUEST:
        if not body.get("link"):
            raise ValidationError("联动申请必须包含 link", "a link_request needs `link`", field="link")
        if h.role == HandoffRole.LEAD:
            _ensure_acknowledged(op, h, "link_request")
        linkage.request_link(op, h, body["link"], extra)
    else:
        if h.state != HandoffState.COMPLETED:
            raise HANDOFF.refuse(h.state, "结案：请先报告办理结果", "close before an outcome was reported")
        if body.get("fulfilment"):
            agreement.record_fulfilment(op, body["fulfilment"], via=h)
        op.fire_handoff(h, "close", extra=extra)


def _checked_outcome(op: Operation, h: Handoff, outcome: dict[str, Any] | None) -> dict[str, Any]:
    if not outcome:
        raise ValidationError("结果报告必须包含 outcome", "an outcome event needs `outcome`", field="outcome")
    expert = h.body_type == BodyType.EXPERT_PANEL
    if (outcome["result"] == OutcomeResult.OPINION) != expert and outcome["result"] != OutcomeResult.WITHDRAWN:
        raise ValidationError("调解意见书只由调解专家库出具，专家库只报告意见（opinion）",
                              "only an expert panel reports an opinion, and it reports only that",
                              field="outcome.result")
    if expert and outcome["result"] == OutcomeResult.OPINION and not (outcome.get("opinion") or "").strip():
        raise ValidationError("请附调解意见书内容", "an opinion needs its text", field="outcome.opinion")
    if outcome.get("opinion") and outcome["result"] != OutcomeResult.OPINION:
        raise ValidationError("opinion 只用于专家意见", "opinion goes with result opinion", field="outcome.opinion")
    terms = outcome.get("agreement")
    if outcome["result"] == OutcomeResult.AGREEMENT and not terms and h.role == HandoffRole.LEAD:
        raise ValidationError("达成协议时必须报告协议内容", "an agreement needs its terms", field="outcome.agreement")
    today = op.at.astimezone(op.config.calendar.tz).date()
    # The lead reaches the agreement; a court confirming it later repeats its old date, which stands.
    if h.role == HandoffRole.LEAD and terms and terms.get("fulfil_by") \
            and date.fromisoformat(str(terms["fulfil_by"])) < today:
        raise ValidationError(f"履行期限不能早于协议达成之日（{today.isoformat()}）",
                              f"fulfil_by is before the agreement was reached ({today.isoformat()})",
                              field="outcome.agreement.fulfil_by")
    return outcome


def acknowledge(op: Operation, h: Handoff, extra: dict[str, Any]) -> None:
    """签收: starts the handling clock; the lead's acknowledgement starts the dispute's handling.
    (Outside 待签收 the engine refuses it; the clock set on `h` is rolled back with the transaction.)"""
    inputs = clock.handle_clock(op, h)
    op.fire_handoff(h, "acknowledge", extra={**extra, "handle_due": h.handle_due}, inputs=inputs)
    op.uow.cancel_timers(op.at, handoff_id=h.id, kinds=("ack_warn", "ack_due"))
    if h.role == HandoffRole.LEAD and op.dispute.state == DisputeState.HANDED_OFF:
        op.fire_dispute("start_handling", extra={"agency": h.agency_code})


def _ensure_acknowledged(op: Operation, h: Handoff, because: str) -> None:
    """A report that only makes sense after 签收 implies it; recorded as implied, not invented."""
    if h.state in WAITING:
        acknowledge(op, h, {"implied": True, "implied_by": because})


def return_handoff(op: Operation, h: Handoff, reason: str, basis: str, code: ReturnReason,
                   extra: dict[str, Any]) -> None:
    """退回: within the return window, never on a designated handoff (the workflow's guards say so).
    The reason's code decides where the dispute goes next (docs/domain.md §7)."""
    op.fire_handoff(h, "return_", extra={**extra, "reason": reason, "basis": basis, "reason_code": code,
                                         "reason_code_name": RETURN_REASON_ZH[code]})
    h.returned_reason = reason
    named = "" if code == ReturnReason.OTHER else f"（{RETURN_REASON_ZH[code]}）"
    handoff_not_taken(op, h, f"{h.agency_code}退回{named}：{reason}", code)


def progress(op: Operation, h: Handoff, extra: dict[str, Any], body: dict[str, Any]) -> None:
    """进展: with it an agency may record the fulfilment, an extension (延期) or an excluded interval."""
    _ensure_acknowledged(op, h, "progress")
    op.fire_handoff(h, "progress", extra=extra)
    if body.get("fulfilment"):
        agreement.record_fulfilment(op, body["fulfilment"], via=h)
    if ext := body.get("extension"):
        clock.extend(op, h, ext["reason"], clock.parse_period(ext.get("period"), "extension.period"))
    if sus := body.get("suspension"):
        (clock.suspend if sus["action"] == "start" else clock.resume)(op, h, sus["reason"])


def report_outcome(op: Operation, h: Handoff, outcome: dict[str, Any], extra: dict[str, Any]) -> None:
    """调解结果: the handoff completes; for the lead, the dispute takes its next step."""
    _ensure_acknowledged(op, h, "outcome")
    h.outcome, h.completed_at = jsonable(outcome), op.at
    op.fire_handoff(h, "complete", extra={**extra, "outcome": h.outcome})
    if h.role == HandoffRole.CONFIRM:
        agreement.confirmation_result(op, h, outcome["result"])
    elif h.role == HandoffRole.ENFORCE:
        aftercare.enforcement_result(op, h, outcome["result"], extra.get("note"))
    elif h.role == HandoffRole.LEAD:
        agreement.lead_result(op, h, outcome)
