"""Rebuild routing facts from stored rows (no personal data needed for routing)."""

from __future__ import annotations

from router.domain.model import DisputeFacts, Feature, Party, PartyKind, PartyRole, RiskFlag, Source, Wish
from router.store.models import Dispute


def facts_of(d: Dispute) -> DisputeFacts:
    return DisputeFacts(
        category=d.category, division=d.division, source=Source(d.source), people_involved=d.people_involved,
        amount=d.amount, risk_flags=frozenset(RiskFlag(f) for f in d.risk_flags or ()),
        features=frozenset(Feature(f) for f in d.features or ()), wish=Wish(d.wish),
        parties=tuple(Party(PartyRole(p.role), PartyKind(p.kind), p.name, p.division) for p in d.parties),
        occurred_on=d.occurred_on, summary=d.summary, key=d.id)
