"""Layering and dispatch (分层过滤, 精准分流) over a configurable rule set.

`decide` is a pure function: facts + rule set + agency registry in, a `RoutingDecision` out. Every
rule that fired is listed with a Chinese reason and the rule-set version, so a supervisor can see
why a dispute went where it went (docs/domain.md §4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from router.domain.model import MEDIATION_BODIES, TIER_NAMES_ZH, BodyType, DisputeFacts, Reason, Tier, body_zh, max_tier
from router.domain.registry import AgencyInfo, Registry
from router.domain.ruleset import RuleSet, matches


@dataclass(frozen=True)
class Placement:
    """One body chosen for a dispute; `agency` is None when no agency could be found."""

    body_type: BodyType
    agency: str | None
    agency_tier: Tier | None
    agency_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "body_type": str(self.body_type),
                "tier": str(self.agency_tier) if self.agency_tier else None, "name": self.agency_name}


@dataclass(frozen=True)
class RoutingDecision:
    tier: Tier
    lead: Placement
    assisting: tuple[Placement, ...]
    reasons: tuple[Reason, ...]
    ruleset_version: str
    # Body types to try, in order, when the lead placement fails (returned, expired, undeliverable).
    lead_body_types: tuple[BodyType, ...] = ()

    @property
    def needs_supervisor(self) -> bool:
        return self.lead.agency is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": str(self.tier),
            "lead": self.lead.as_dict(),
            "assisting": [p.as_dict() for p in self.assisting],
            "reasons": [r.as_dict() for r in self.reasons],
            "ruleset_version": self.ruleset_version,
            "needs_supervisor": self.needs_supervisor,
            "lead_body_types": [str(b) for b in self.lead_body_types],
        }


def decide(facts: DisputeFacts, ruleset: RuleSet, registry: Registry,
           exclude_agencies: frozenset[str] = frozenset()) -> RoutingDecision:
    """Layer and dispatch one dispute. Raises KeyError only for a category the caller did not validate."""
    cat = ruleset.categories[facts.category]
    reasons = [Reason(f"category.{cat.code}",
                      f"{cat.name}：默认由{body_zh(cat.lead)}在{TIER_NAMES_ZH[cat.tier]}层级调处")]
    tier = cat.tier
    lead = cat.lead
    lead_set_by: str | None = None
    assist: list[BodyType] = []
    exclude_mediation = False

    for rule in ruleset.rules:
        if not matches(rule.when, facts):
            continue
        text = rule.text
        wanted_lead = rule.lead_from_source.get(str(facts.source), rule.lead)
        if wanted_lead is not None:
            if lead_set_by is None:
                lead, lead_set_by = wanted_lead, rule.id
            elif wanted_lead != lead:
                text += f"（主办单位已由规则 {lead_set_by} 确定，本条不再改变主办单位）"
        if rule.min_tier is not None and rule.min_tier.rank > tier.rank:
            tier = max_tier(tier, rule.min_tier)
        for b in rule.assist:
            if b not in assist:
                assist.append(b)
        exclude_mediation = exclude_mediation or rule.exclude_mediation
        reasons.append(Reason(rule.id, text))

    if exclude_mediation and lead in MEDIATION_BODIES:  # a rule excluded mediation but set no lead
        lead = BodyType.COURT
    if exclude_mediation:
        assist = [b for b in assist if b not in MEDIATION_BODIES]
    assist = [b for b in assist if b != lead]

    lead_types = [lead]
    if lead_set_by is None:
        lead_types += [b for b in cat.alternatives if b not in lead_types]
    if exclude_mediation:
        lead_types = [b for b in lead_types if b not in MEDIATION_BODIES] or [lead]

    lead_placement = None
    for body in lead_types:
        placement, notes = _place(body, tier, facts.division, registry, exclude_agencies, facts.key)
        reasons.extend(notes)
        if placement.agency is not None:
            lead_placement = placement
            break
    if lead_placement is None:
        lead_placement = Placement(lead, None, None)
        reasons.append(Reason("fallback.needs_supervisor",
                              f"辖区内没有可承接的{body_zh(lead)}，转督办人员指定（不得搁置）"))

    assisting = []
    for body in assist:
        placement, notes = _place(body, tier, facts.division, registry, exclude_agencies, facts.key)
        reasons.extend(notes)
        if placement.agency is not None:
            assisting.append(placement)
    return RoutingDecision(tier=tier, lead=lead_placement, assisting=tuple(assisting), reasons=tuple(reasons),
                           ruleset_version=ruleset.version, lead_body_types=tuple(lead_types))


def _place(body: BodyType, tier: Tier, division: str, registry: Registry, exclude: frozenset[str],
           key: str) -> tuple[Placement, list[Reason]]:
    agency = registry.find_upwards(body, tier, division, exclude, key)
    if agency is None:
        return Placement(body, None, None), [Reason(
            f"fallback.none.{body}", f"{TIER_NAMES_ZH[tier]}及以上层级均无覆盖该地区的{body_zh(body)}")]
    notes = []
    if agency.tier != tier:
        notes.append(Reason(
            f"fallback.tier_up.{body}",
            f"{TIER_NAMES_ZH[tier]}层级无覆盖该地区的{body_zh(body)}，上移至{TIER_NAMES_ZH[agency.tier]}：{agency.name}"))
    tie = registry.tie_reason(agency, division, exclude, key)
    return Placement(body, agency.code, agency.tier, agency.name), notes + ([tie] if tie else [])


def next_candidate(facts: DisputeFacts, decision_body_types: Sequence[BodyType], tier: Tier,
                   registry: Registry, tried: frozenset[str]) -> AgencyInfo | None:
    """The next agency to offer a lead handoff to, never one already tried (docs/domain.md §7)."""
    for body in decision_body_types:
        a = registry.find_upwards(body, tier, facts.division, tried, facts.key)
        if a is not None:
            return a
    return None
