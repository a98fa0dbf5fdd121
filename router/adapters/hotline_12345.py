"""The 12345 hotline speaks in work orders: 工单号, 办理时限, 回单 (the final reply it owes the caller)."""

from __future__ import annotations

from typing import Any

from router.adapters.base import COMMON_PROPERTIES, Adapter, ReferralInput, object_schema
from router.domain.model import CLOSURE_ZH, PartyRole


class HotlineAdapter(Adapter):
    family = "hotline_12345"
    body_types = ("hotline_12345",)
    title = "12345热线 工单"

    def build(self, r: ReferralInput) -> dict[str, Any]:
        applicant = next((p for p in r.parties if p.role == PartyRole.APPLICANT), None)
        return {
            "kind": "work_order",
            "work_order_no": r.source_ref if r.source == "hotline" and r.source_ref else r.reference,
            "handoff_id": r.handoff_id, "reference": r.reference,
            "title": f"{r.category_name}：{r.summary[:30]}", "content": r.summary,
            "category": r.category, "division": r.division,
            "caller": {"name": applicant.name, "phone": applicant.phone} if applicant else None,
            "sign_by": r.deadlines.get("ack_due"), "handle_by": r.deadlines.get("handle_due"),
            "designated": r.designated, "reply_required": True, "callback_url": r.callback_url,
            "offered_at": r.offered_at,
        }

    def schema(self, body_type: str) -> dict[str, Any]:
        props = {
            "kind": {"const": "work_order"},
            "work_order_no": {"type": "string", "description": "工单号: the hotline's own number when it came from "
                                                                "12345, else the centre's reference"},
            "handoff_id": COMMON_PROPERTIES["handoff_id"], "reference": COMMON_PROPERTIES["reference"],
            "title": {"type": "string"}, "content": {"type": "string"}, "category": {"type": "string"},
            "division": COMMON_PROPERTIES["division"],
            "caller": {"type": ["object", "null"], "properties": {"name": {"type": "string"},
                                                                   "phone": {"type": ["string", "null"]}}},
            "sign_by": {"type": "string", "format": "date-time", "description": "签收时限"},
            "handle_by": {"type": ["string", "null"], "format": "date-time", "description": "办理时限"},
            "designated": {"type": "boolean", "description": "指定单位不得退回"},
            "reply_required": {"const": True, "description": "须回单"},
            "callback_url": COMMON_PROPERTIES["callback_url"], "offered_at": COMMON_PROPERTIES["offered_at"],
        }
        return object_schema(self.title, props, list(props))


STATUS_ZH = {
    "handed_off": "已转办", "in_handling": "承办单位已签收办理", "needs_supervisor": "中心督办指定中",
    "agreed": "已达成调解协议", "confirming": "司法确认中", "fulfilling": "协议履行中", "follow_up": "履行完毕待回访",
    "closed": "已办结", "held_duplicate": "疑似重复登记，核实中", "merged": "已并入同一纠纷一并办理",
    "not_accepted": "不予受理", "awaiting_completion": "待补充材料", "received": "已受理", "routed": "已分流",
    "unfulfilled": "协议逾期未履行，中心处理中", "enforcing": "已申请人民法院强制执行",
}


def status_notice(work_order_no: str, reference: str, state: str, at: str, detail: dict[str, Any]) -> dict[str, Any]:
    """A progress update on a 12345 work order (工单进度反馈)."""
    return {"kind": "status", "work_order_no": work_order_no, "reference": reference, "status": state,
            "status_text": STATUS_ZH.get(state, state), "at": at, "detail": detail}


def final_reply(work_order_no: str, reference: str, at: str, closure: dict[str, Any],
                outcome: dict[str, Any] | None) -> dict[str, Any]:
    """回单: the final reply the hotline owes the caller, with how the dispute ended."""
    code = closure.get("code", "")
    result = (outcome or {}).get("result")
    return {"kind": "reply", "work_order_no": work_order_no, "reference": reference, "at": at,
            "result": code, "result_text": CLOSURE_ZH.get(code, code), "mediation_result": result,
            "reply": closure.get("reason", ""), "resolved": code == "followed_up" and result == "agreement"}


NOTICE_SCHEMAS: dict[str, dict[str, Any]] = {
    "hotline-status": object_schema("12345 工单进度反馈", {
        "kind": {"const": "status"}, "work_order_no": {"type": "string"}, "reference": {"type": "string"},
        "status": {"type": "string"}, "status_text": {"type": "string"},
        "at": {"type": "string", "format": "date-time"}, "detail": {"type": "object"}},
        ["kind", "work_order_no", "reference", "status", "status_text", "at"]),
    "hotline-reply": object_schema("12345 工单回单", {
        "kind": {"const": "reply"}, "work_order_no": {"type": "string"}, "reference": {"type": "string"},
        "at": {"type": "string", "format": "date-time"}, "result": {"type": "string"},
        "result_text": {"type": "string"}, "mediation_result": {"type": ["string", "null"]},
        "reply": {"type": "string"}, "resolved": {"type": "boolean"}},
        ["kind", "work_order_no", "reference", "at", "result", "result_text", "reply", "resolved"]),
}
