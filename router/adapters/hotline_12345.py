"""The 12345 hotline speaks in work orders: 工单号, 办理时限, 回单 (the final reply it owes the caller)."""

from __future__ import annotations

from typing import Any

from router.adapters.base import COMMON_PROPERTIES, Adapter, HandoffContext, object_schema


class HotlineAdapter(Adapter):
    family = "hotline_12345"
    body_types = ("hotline_12345",)
    title = "12345热线 工单"

    def build(self, ctx: HandoffContext) -> dict[str, Any]:
        applicant = next((p for p in ctx.parties if p.role == "applicant"), None)
        return {
            "kind": "work_order",
            "work_order_no": ctx.source_ref if ctx.source == "hotline" and ctx.source_ref else ctx.reference,
            "handoff_id": ctx.handoff_id, "reference": ctx.reference,
            "title": f"{ctx.category_name}：{ctx.summary[:30]}", "content": ctx.summary,
            "category": ctx.category, "division": ctx.division,
            "caller": {"name": applicant.name, "phone": applicant.phone} if applicant else None,
            "sign_by": ctx.deadlines.get("ack_due"), "handle_by": ctx.deadlines.get("handle_due"),
            "designated": ctx.designated, "reply_required": True, "callback_url": ctx.callback_url,
            "offered_at": ctx.offered_at,
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
