"""Petition offices (信访部门) and town governments (乡镇人民政府/街道办事处): 交办 of a 信访事项."""

from __future__ import annotations

from typing import Any

from router.adapters.base import Adapter, ReferralInput, referral, referral_schema


class PetitionAdapter(Adapter):
    family = "petition"
    body_types = ("petition", "government")
    title = "信访事项/政府处理事项 交办单"

    def build(self, r: ReferralInput) -> dict[str, Any]:
        return referral(r, "petition_assignment", body_type=r.body_type, risk_flags=list(r.risk_flags),
                        collective=r.people_involved >= 5 or "group" in r.risk_flags)

    def schema(self, body_type: str) -> dict[str, Any]:
        return referral_schema(f"{self.title}（{body_type}）", "petition_assignment", {
            "body_type": {"const": body_type},
            "collective": {"type": "boolean", "description": "群体性诉求（5人以上）"},
            "risk_flags": {"type": "array", "items": {"type": "string"}}}, min_parties=1)
