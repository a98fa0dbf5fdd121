"""司法行政机关 (司法所, 司法局): they guide the people's mediation committees (人民调解法 5) and are
told of each 督办 of a committee they supervise. They are never handed a dispute: `build` exists
only because every body type has one adapter, and it says what little they would be shown."""

from __future__ import annotations

from typing import Any

from router.adapters.base import Adapter, ReferralInput, object_schema


def supervision_notice(supervised_agency: str, supervised_name: str, handoff_id: str, reference: str,
                       deadline: str, due: str | None, count: int, reason: str, at: str) -> dict[str, Any]:
    """督办 copied to the supervising body (contracts/supervision-notice.schema.json)."""
    return {"kind": "supervision", "supervised_agency": supervised_agency, "supervised_name": supervised_name,
            "handoff_id": handoff_id, "reference": reference, "deadline": deadline, "due": due, "count": count,
            "reason": reason, "at": at}


SUPERVISION_SCHEMA: dict[str, Any] = object_schema("督办抄送（司法所、司法局）", {
    "kind": {"const": "supervision"}, "supervised_agency": {"type": "string"},
    "supervised_name": {"type": "string"}, "handoff_id": {"type": "string"}, "reference": {"type": "string"},
    "deadline": {"enum": ["ack_due", "handle_due"]}, "due": {"type": ["string", "null"], "format": "date-time"},
    "count": {"type": "integer", "minimum": 0}, "reason": {"type": "string"},
    "at": {"type": "string", "format": "date-time"}},
    ["kind", "supervised_agency", "supervised_name", "handoff_id", "reference", "deadline", "due", "count", "reason",
     "at"])


class SupervisionAdapter(Adapter):
    family = "supervision"
    body_types = ("justice_bureau",)
    title = "司法行政机关 督办抄送"

    def build(self, r: ReferralInput) -> dict[str, Any]:
        return {"kind": "supervision_only", "reference": r.reference, "handoff_id": r.handoff_id}

    def schema(self, body_type: str) -> dict[str, Any]:
        return object_schema(self.title, {"kind": {"const": "supervision_only"}, "reference": {"type": "string"},
                                          "handoff_id": {"type": "string"}}, ["kind", "reference", "handoff_id"])
