"""Arbitration committees: labour and personnel disputes (劳动人事争议仲裁委), rural land (农村土地承包仲裁委)."""

from __future__ import annotations

from typing import Any

from router.adapters.base import PRIOR_MEDIATION_SCHEMA, Adapter, ReferralInput, as_json, referral, referral_schema


class ArbitrationAdapter(Adapter):
    family = "labour_arbitration"
    body_types = ("labour_arbitration", "land_arbitration")
    title = "仲裁委员会 仲裁申请移送"

    def build(self, r: ReferralInput) -> dict[str, Any]:
        return referral(r, "arbitration_referral", body_type=r.body_type, collective=r.people_involved >= 10,
                        claims={"summary": r.summary, "amount": r.amount, "occurred_on": r.occurred_on},
                        prior_mediation=as_json(r.prior_mediation))

    def schema(self, body_type: str) -> dict[str, Any]:
        return referral_schema(f"{self.title}（{body_type}）", "arbitration_referral", {
            "body_type": {"const": body_type},
            "collective": {"type": "boolean", "description": "劳动者10人以上的集体争议"},
            "claims": {"type": "object", "required": ["summary", "amount"]},
            "prior_mediation": PRIOR_MEDIATION_SCHEMA})
