"""The rule set of routing.yaml: the categories' default routing and the risk, size, division and
wish rules, validated at load with the key named on any error (docs/domain.md §4)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from router.domain.errors import ConfigError, reject_unknown_keys
from router.domain.model import BodyType, DisputeFacts, Source, Tier
from router.domain.registry import division_prefix

ROUTING_FILE = "routing.yaml"
SPAN_LENGTH = {"village": 12, "town": 9, "district": 6}


@dataclass(frozen=True)
class CategoryRule:
    code: str
    name: str
    lead: BodyType
    tier: Tier
    next_on_failure: BodyType | None = None
    alternatives: tuple[BodyType, ...] = ()
    mask_names: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    when: Mapping[str, Any]
    text: str
    min_tier: Tier | None = None
    assist: tuple[BodyType, ...] = ()
    lead: BodyType | None = None
    lead_from_source: Mapping[str, BodyType] = field(default_factory=dict)
    exclude_mediation: bool = False


CATEGORY_KEYS = ("name", "lead", "tier", "next_on_failure", "alternatives", "mask_names")
RULE_KEYS = ("id", "when", "text", "min_tier", "assist", "lead", "lead_from_source", "exclude_mediation")
CONDITION_KEYS = frozenset({"risk_flag", "any_risk_flag", "feature", "category", "source", "people_at_least",
                            "amount_at_least", "parties_span", "wish", "party_kind", "any_of"})


@dataclass(frozen=True)
class RuleSet:
    version: str
    categories: Mapping[str, CategoryRule]
    rules: tuple[Rule, ...]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], raw: bytes = b"") -> RuleSet:
        """Build and validate a rule set from parsed routing.yaml; errors name the key."""
        if not isinstance(data, Mapping):
            raise ConfigError(ROUTING_FILE, "(top)", "must be a mapping")
        reject_unknown_keys(ROUTING_FILE, "", data, ("version", "categories", "rules"))
        version = str(_req(data, "version", "version"))
        digest = hashlib.sha256(raw).hexdigest()[:8] if raw else "0"
        cats_raw = _req(data, "categories", "categories")
        if not isinstance(cats_raw, Mapping) or not cats_raw:
            raise ConfigError(ROUTING_FILE, "categories", "must be a non-empty mapping")
        categories = {}
        for code, c in cats_raw.items():
            key = f"categories.{code}"
            if not isinstance(c, Mapping):
                raise ConfigError(ROUTING_FILE, key, "must be a mapping")
            reject_unknown_keys(ROUTING_FILE, key, c, CATEGORY_KEYS)
            categories[str(code)] = CategoryRule(
                code=str(code),
                name=str(_req(c, "name", key)),
                lead=_body(_req(c, "lead", key), f"{key}.lead"),
                tier=_tier(_req(c, "tier", key), f"{key}.tier"),
                next_on_failure=(_body(c["next_on_failure"], f"{key}.next_on_failure")
                                 if c.get("next_on_failure") else None),
                alternatives=tuple(_body(b, f"{key}.alternatives") for b in c.get("alternatives", ()) or ()),
                mask_names=bool(c.get("mask_names", False)),
            )
        rules = []
        seen: set[str] = set()
        for i, r in enumerate(data.get("rules", ()) or ()):
            key = f"rules[{i}]"
            if not isinstance(r, Mapping):
                raise ConfigError(ROUTING_FILE, key, "must be a mapping")
            rid = str(_req(r, "id", key))
            key = f"rules.{rid}"
            if rid in seen:
                raise ConfigError(ROUTING_FILE, key, "duplicate rule id")
            seen.add(rid)
            reject_unknown_keys(ROUTING_FILE, key, r, RULE_KEYS)
            when = _req(r, "when", key)
            _check_condition(when, f"{key}.when", categories)
            rules.append(Rule(
                id=rid, when=when, text=str(_req(r, "text", key)),
                min_tier=_tier(r["min_tier"], f"{key}.min_tier") if r.get("min_tier") else None,
                assist=tuple(_body(b, f"{key}.assist") for b in r.get("assist", ()) or ()),
                lead=_body(r["lead"], f"{key}.lead") if r.get("lead") else None,
                lead_from_source={_source(k, f"{key}.lead_from_source.{k}"): _body(v, f"{key}.lead_from_source.{k}")
                                  for k, v in (r.get("lead_from_source") or {}).items()},
                exclude_mediation=bool(r.get("exclude_mediation", False)),
            ))
        return cls(version=f"{version}+{digest}", categories=categories, rules=tuple(rules))


def _req(m: Mapping[str, Any], k: str, where: str) -> Any:
    if k not in m or m[k] in (None, ""):
        raise ConfigError(ROUTING_FILE, f"{where}.{k}" if where != k else k, "is required")
    return m[k]


def _body(v: Any, key: str) -> BodyType:
    try:
        return BodyType(v)
    except ValueError:
        raise ConfigError(ROUTING_FILE, key, f"unknown body type {v!r}") from None


def _source(v: Any, key: str) -> str:
    if v not in Source._value2member_map_:
        raise ConfigError(ROUTING_FILE, key, f"unknown intake source {v!r}")
    return str(v)


def _tier(v: Any, key: str) -> Tier:
    try:
        return Tier(v)
    except ValueError:
        raise ConfigError(ROUTING_FILE, key, f"unknown tier {v!r}") from None


def _check_condition(when: Any, key: str, categories: Mapping[str, CategoryRule]) -> None:
    if not isinstance(when, Mapping) or not when:
        raise ConfigError(ROUTING_FILE, key, "must be a non-empty mapping of conditions")
    for k, v in when.items():
        if k not in CONDITION_KEYS:
            raise ConfigError(ROUTING_FILE, f"{key}.{k}", f"unknown condition; use one of {sorted(CONDITION_KEYS)}")
        if k == "any_of":
            if not isinstance(v, list) or not v:
                raise ConfigError(ROUTING_FILE, f"{key}.any_of", "must be a non-empty list")
            for j, sub in enumerate(v):
                _check_condition(sub, f"{key}.any_of[{j}]", categories)
        elif k == "category" and v not in categories:
            raise ConfigError(ROUTING_FILE, f"{key}.category", f"unknown category {v!r}")
        elif k == "parties_span" and v not in SPAN_LENGTH:
            raise ConfigError(ROUTING_FILE, f"{key}.parties_span", "must be village, town or district")
        elif k == "amount_at_least":
            try:
                Decimal(str(v))
            except InvalidOperation:
                raise ConfigError(ROUTING_FILE, f"{key}.amount_at_least", "must be a number") from None


def matches(when: Mapping[str, Any], facts: DisputeFacts) -> bool:
    for k, v in when.items():
        if k == "any_of":
            ok = any(matches(sub, facts) for sub in v)
        elif k == "risk_flag":
            ok = v in {str(f) for f in facts.risk_flags}
        elif k == "any_risk_flag":
            ok = bool({str(f) for f in facts.risk_flags} & set(v))
        elif k == "feature":
            ok = v in {str(f) for f in facts.features}
        elif k == "category":
            ok = facts.category == v
        elif k == "source":
            ok = str(facts.source) == v
        elif k == "people_at_least":
            ok = facts.people_involved >= int(v)
        elif k == "amount_at_least":
            ok = facts.amount is not None and facts.amount >= Decimal(str(v))
        elif k == "parties_span":
            ok = _spans(facts, v)
        elif k == "wish":
            ok = str(facts.wish) == v
        elif k == "party_kind":
            ok = any(str(p.kind) == v for p in facts.parties)
        else:  # validated at load time
            ok = False
        if not ok:
            return False
    return True


def _spans(facts: DisputeFacts, level: str) -> bool:
    """Do the parties live in different divisions at `level` (village, town or district)?"""
    n = SPAN_LENGTH[level]
    # A party known only by a coarser code (a town code, say) is not "in another village".
    codes = {p.division for p in facts.parties if p.division and len(division_prefix(p.division)) >= n}
    if len(codes) < 2:
        return False
    # Parties in different towns also differ by village: report only the coarsest span.
    coarser = [lvl for lvl, m in SPAN_LENGTH.items() if m < n]
    if any(_spans(facts, c) for c in coarser):
        return False
    return len({c[:n] for c in codes}) > 1
