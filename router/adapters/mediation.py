"""People's mediation committees and industry committees (医调委, 交调委, 物业, 婚姻家事, 消费, 劳动争议调解)."""

from __future__ import annotations

from typing import Any

from router.adapters.base import Adapter, ReferralInput, referral, referral_schema


class MediationAdapter(Adapter):
    family = "mediation"
    body_types = ("people_mediation", "medical_mediation", "traffic_mediation", "property_mediation",
                  "family_mediation", "consumer_mediation", "labour_mediation", "market_regulator_12315")
    title = "人民调解/行业性专业性调解 移交单"

    def build(self, r: ReferralInput) -> dict[str, Any]:
        return referral(r, "mediation_referral", body_type=r.body_type, wish=r.wish,
                        risk_flags=list(r.risk_flags), assisting=[dict(a) for a in r.assisting])

    def schema(self, body_type: str) -> dict[str, Any]:
        return referral_schema(f"{self.title}（{body_type}）", "mediation_referral", {
            "body_type": {"const": body_type},
            "wish": {"enum": ["mediation", "litigation", "arbitration", "unspecified"]},
            "risk_flags": {"type": "array", "items": {"type": "string"}},
            "assisting": {"type": "array", "items": {"type": "object"}}})
