"""Police stations (派出所): risk flags first, so the duty officer sees danger before anything else."""

from __future__ import annotations

from typing import Any

from router.adapters.base import Adapter, ReferralInput, referral, referral_schema

URGENT = frozenset({"violence_threat", "domestic_violence", "self_harm", "death_or_serious_injury"})


class PoliceAdapter(Adapter):
    family = "police"
    body_types = ("police",)
    title = "公安机关 矛盾纠纷移送（含风险提示）"

    def build(self, r: ReferralInput) -> dict[str, Any]:
        flags = list(r.risk_flags)
        level = "urgent" if URGENT & set(flags) else ("elevated" if flags else "normal")
        return {"risk_flags": flags, "risk_level": level, **referral(r, "police_referral")}

    def schema(self, body_type: str) -> dict[str, Any]:
        return referral_schema(self.title, "police_referral", {
            "risk_flags": {"type": "array", "items": {"type": "string"}},
            "risk_level": {"enum": ["urgent", "elevated", "normal"]}})
