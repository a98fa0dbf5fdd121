"""Procuratorates (检察院): 群众信件 and 12309-style referrals, with a progress reply due in 3 months."""

from __future__ import annotations

from typing import Any

from router.adapters.base import Adapter, ReferralInput, referral, referral_schema


class ProcuratorateAdapter(Adapter):
    family = "procuratorate"
    body_types = ("procuratorate",)
    title = "检察机关 移送函"

    def build(self, r: ReferralInput) -> dict[str, Any]:
        return referral(r, "procuratorate_referral", source=r.source, risk_flags=list(r.risk_flags))

    def schema(self, body_type: str) -> dict[str, Any]:
        return referral_schema(self.title, "procuratorate_referral", {
            "source": {"type": "string"}, "risk_flags": {"type": "array", "items": {"type": "string"}}},
            min_parties=1)
