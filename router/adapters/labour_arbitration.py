"""Arbitration committees: labour and personnel disputes (劳动人事争议仲裁委), rural land (农村土地承包仲裁委)."""

from __future__ import annotations

from typing import Any

from router.adapters.base import Adapter, HandoffContext, referral, referral_schema


class ArbitrationAdapter(Adapter):
    family = "labour_arbitration"
    body_types = ("labour_arbitration", "land_arbitration")
    title = "仲裁委员会 仲裁申请移送"

    def build(self, ctx: HandoffContext) -> dict[str, Any]:
        return referral(ctx, "arbitration_referral", body_type=ctx.body_type, collective=ctx.people_involved >= 10,
                        claims={"summary": ctx.summary, "amount": ctx.amount, "occurred_on": ctx.occurred_on},
                        prior_mediation=ctx.extra.get("prior_mediation"))

    def schema(self, body_type: str) -> dict[str, Any]:
        return referral_schema(f"{self.title}（{body_type}）", "arbitration_referral", {
            "body_type": {"const": body_type},
            "collective": {"type": "boolean", "description": "劳动者10人以上的集体争议"},
            "claims": {"type": "object", "required": ["summary", "amount"]},
            "prior_mediation": {"type": ["object", "null"],
                                "description": "the failed mediation before arbitration, if any"}})
