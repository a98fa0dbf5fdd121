"""Courts (法院, 人民法庭): entrusted mediation (委派调解), filing, judicial confirmation (司法确认), and the
enforcement (强制执行) of a confirmed agreement left unperformed."""

from __future__ import annotations

from typing import Any

from router.adapters.base import AGREEMENT_SCHEMA, Adapter, ReferralInput, as_json, referral, referral_schema
from router.workflows.handoff import HandoffRole


class CourtAdapter(Adapter):
    family = "court"
    body_types = ("court",)
    title = "法院 诉前委派调解/立案/司法确认 移送函"

    def build(self, r: ReferralInput) -> dict[str, Any]:
        request = "judicial_confirmation" if r.role == HandoffRole.CONFIRM else "enforcement" \
            if r.role == HandoffRole.ENFORCE else "filing" if r.wish == "litigation" else "entrusted_mediation"
        # A court identifies every party in full: it files the case or confirms the agreement.
        return referral(r, "court_referral", request=request, agreement=as_json(r.agreement), wish=r.wish,
                        claims={"summary": r.summary, "amount": r.amount, "occurred_on": r.occurred_on})

    def schema(self, body_type: str) -> dict[str, Any]:
        return referral_schema(self.title, "court_referral", {
            "request": {"enum": ["entrusted_mediation", "filing", "judicial_confirmation", "enforcement"]},
            "claims": {"type": "object", "required": ["summary", "amount"],
                       "properties": {"summary": {"type": "string"}, "amount": {"type": ["string", "null"]},
                                      "occurred_on": {"type": ["string", "null"]}}},
            "agreement": AGREEMENT_SCHEMA, "wish": {"enum": ["mediation", "litigation", "arbitration", "unspecified"]}})
