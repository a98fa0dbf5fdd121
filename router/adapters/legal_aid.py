"""Legal aid centres (法律援助中心): the applicants who may need aid, and why."""

from __future__ import annotations

from typing import Any

from router.adapters.base import Adapter, ReferralInput, referral, referral_schema
from router.domain.model import PartyRole


class LegalAidAdapter(Adapter):
    family = "legal_aid"
    body_types = ("legal_aid",)
    title = "法律援助 转介函"

    def build(self, r: ReferralInput) -> dict[str, Any]:
        # Only the applicants: legal aid is for them (法律援助法 43), not for the other side.
        grounds = [f for f in r.risk_flags if f in ("domestic_violence", "vulnerable_party")] + (
            ["collective_labour"] if r.category == "LABOUR" and r.people_involved >= 10 else [])
        return referral(r, "legal_aid_referral", parties=tuple(p for p in r.parties if p.role == PartyRole.APPLICANT),
                        parties_key="applicants", grounds=grounds)

    def schema(self, body_type: str) -> dict[str, Any]:
        return referral_schema(self.title, "legal_aid_referral", {"grounds": {"type": "array", "items": {
            "type": "string"}}}, min_parties=1, parties_key="applicants")
