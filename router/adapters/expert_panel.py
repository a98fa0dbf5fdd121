"""The centre's expert panel (调解专家库): asked mid-case (联动) for a 调解意见书 on a question the body
handling the dispute put. The experts get the facts and who the parties are, not how to reach them:
they answer the mediator, not the parties."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from router.adapters.base import Adapter, ReferralInput, referral, referral_schema


class ExpertPanelAdapter(Adapter):
    family = "expert_panel"
    body_types = ("expert_panel",)
    title = "调解专家库 意见征询函"

    def build(self, r: ReferralInput) -> dict[str, Any]:
        parties = tuple(replace(p, id_number=None, phone=None) for p in r.parties)
        return referral(r, "expert_opinion_request", parties=parties, requested="调解意见书",
                        question=r.question or "", asked_by=r.asked_by)

    def schema(self, body_type: str) -> dict[str, Any]:
        return referral_schema(self.title, "expert_opinion_request", {
            "requested": {"const": "调解意见书"}, "question": {"type": "string"},
            "asked_by": {"type": ["string", "null"], "description": "the agency handling the dispute"}},
            min_parties=1)
