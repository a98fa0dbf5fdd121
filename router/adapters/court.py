"""Courts (法院, 人民法庭): entrusted mediation (委派调解), filing, judicial confirmation (司法确认)."""

from __future__ import annotations

from typing import Any

from router.adapters.base import Adapter, HandoffContext, referral, referral_schema


class CourtAdapter(Adapter):
    family = "court"
    body_types = ("court",)
    title = "法院 诉前委派调解/立案/司法确认 移送函"

    def build(self, ctx: HandoffContext) -> dict[str, Any]:
        agreement = ctx.extra.get("agreement")
        request = "judicial_confirmation" if agreement else (
            "filing" if ctx.wish == "litigation" else "entrusted_mediation")
        # A court identifies every party in full: it files the case or confirms the agreement.
        return referral(ctx, "court_referral", request=request, agreement=agreement, wish=ctx.wish,
                        claims={"summary": ctx.summary, "amount": ctx.amount, "occurred_on": ctx.occurred_on})

    def schema(self, body_type: str) -> dict[str, Any]:
        agreement = {"type": ["object", "null"], "required": ["terms", "signed_on"],
                     "properties": {"terms": {"type": "string"}, "amount": {"type": ["string", "null"]},
                                    "signed_on": {"type": "string", "format": "date"},
                                    "fulfil_by": {"type": ["string", "null"], "format": "date"}}}
        return referral_schema(self.title, "court_referral", {
            "request": {"enum": ["entrusted_mediation", "filing", "judicial_confirmation"]},
            "claims": {"type": "object", "required": ["summary", "amount"],
                       "properties": {"summary": {"type": "string"}, "amount": {"type": ["string", "null"]},
                                      "occurred_on": {"type": ["string", "null"]}}},
            "agreement": agreement, "wish": {"enum": ["mediation", "litigation", "arbitration", "unspecified"]}})
