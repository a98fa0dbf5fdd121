"""Layering and dispatch (分层过滤, 精准分流) over a configurable rule set.

`decide` is a pure function: facts + rule set + agency registry in, a `RoutingDecision` out. Every
rule that fired is listed with a Chinese reason and the rule-set version, so a supervisor can see
why a dispute went where it went (DOMAIN.md section 4).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from router.domain.errors import ConfigError, reject_unknown_keys
from router.domain.model import (
    MEDIATION_BODIES,
    TIER_NAMES_ZH,
    BodyType,
    DisputeFacts,
    Tier,
    max_tier,
)

ROUTING_FILE = "routing.yaml"

# --------------------------------------------------------------------------- divisions


def division_prefix(code: str) -> str:
    """The significant prefix of a 12-digit division code: trailing all-zero segments dropped.

    ``330681000000`` -> ``330681`` (a county covers every code starting so).
    """
    bounds = (2, 4, 6, 9, 12)
    prefix = code
    for start, end in zip(bounds[-2::-1], bounds[::-1], strict=False):
        if set(prefix[start:end]) <= {"0"} and len(prefix) >= end:
            prefix = prefix[:start]
        else:
            break
    return prefix


def covers(jurisdiction_code: str, division: str) -> bool:
    return division.startswith(division_prefix(jurisdiction_code))


SPAN_LENGTH = {"village": 12, "town": 9, "district": 6}


# --------------------------------------------------------------------------- agencies


@dataclass(frozen=True)
class AgencyInfo:
    """What routing needs to know of one concrete agency."""

    code: str
    name: str
    body_type: BodyType
    tier: Tier
    jurisdiction: tuple[str, ...]
    active: bool = True
    # Between agencies of one body type and tier that cover a division equally well, the higher
    # priority takes the dispute; equal priorities share the load (agencies.yaml `priority`).
    priority: int = 0

    def covers(self, division: str) -> int:
        """Specificity of the best jurisdiction code covering `division`; 0 when none does."""
        best = 0
        for j in self.jurisdiction:
            if covers(j, division):
                best = max(best, len(division_prefix(j)) + 1)
        return best


class Registry:
    """Agencies indexed by (body type, tier) for jurisdiction look-ups."""

    def __init__(self, agencies: Iterable[AgencyInfo]) -> None:
        self._by_key: dict[tuple[BodyType, Tier], list[AgencyInfo]] = {}
        self.by_code: dict[str, AgencyInfo] = {}
        for a in agencies:
            self.by_code[a.code] = a
            if a.active:
                self._by_key.setdefault((a.body_type, a.tier), []).append(a)

    def tied(self, body_type: BodyType, tier: Tier, division: str,
             exclude: frozenset[str] = frozenset()) -> list[AgencyInfo]:
        """The active agencies of that type at that tier that cover the division most specifically,
        highest priority first (more than one only when two jurisdictions are equally specific)."""
        best, out = 0, []
        for a in self._by_key.get((body_type, tier), ()):
            spec = 0 if a.code in exclude else a.covers(division)
            if spec > best:
                best, out = spec, [a]
            elif spec and spec == best:
                out.append(a)
        return sorted(out, key=lambda a: (-a.priority, a.code))

    def find(self, body_type: BodyType, tier: Tier, division: str, exclude: frozenset[str] = frozenset(),
             key: str = "") -> AgencyInfo | None:
        """The most specific active agency of that type at that tier covering the division.

        Among equally specific ones the highest priority wins; equal priorities share the load by
        rendezvous hashing on `key` (the dispute id): each dispute keeps its agency, and an agency
        added beside them takes only its share.
        """
        tied = self.tied(body_type, tier, division, exclude)
        if not tied:
            return None
        top = [a for a in tied if a.priority == tied[0].priority]
        return top[0] if len(top) == 1 else max(top, key=lambda a: _weight(key, a.code))

    def find_upwards(self, body_type: BodyType, tier: Tier, division: str, exclude: frozenset[str] = frozenset(),
                     key: str = "") -> AgencyInfo | None:
        """Try `tier`, then each tier above it (docs/domain.md §4: "try the next tier up")."""
        t: Tier | None = tier
        while t is not None:
            a = self.find(body_type, t, division, exclude, key)
            if a is not None:
                return a
            t = t.up()
        return None

    def tie_reason(self, chosen: AgencyInfo, division: str, exclude: frozenset[str] = frozenset()) -> Reason | None:
        """Why `chosen` and not an equally placed agency; None when it had no rival."""
        tied = self.tied(chosen.body_type, chosen.tier, division, exclude)
        if len(tied) < 2:
            return None
        body = _body_zh(chosen.body_type)
        rivals = "、".join(a.name for a in tied if a.code != chosen.code)
        if chosen.priority > max(a.priority for a in tied if a.code != chosen.code):
            return Reason(f"tie.priority.{chosen.body_type}",
                          f"同一辖区有{len(tied)}家{body}（另有{rivals}），按优先级选定{chosen.name}"
                          f"（{chosen.code}，优先级{chosen.priority}）")
        peers = [a for a in tied if a.priority == chosen.priority]
        return Reason(f"tie.shared.{chosen.body_type}",
                      f"同一辖区有{len(peers)}家优先级相同的{body}，按纠纷编号轮流分担，本件由{chosen.name}"
                      f"（{chosen.code}）承办")


def _weight(key: str, code: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{key}\x1f{code}".encode()).digest()[:8], "big")


# --------------------------------------------------------------------------- rule set


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
                lead_from_source={str(k): _body(v, f"{key}.lead_from_source.{k}")
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


def _matches(when: Mapping[str, Any], facts: DisputeFacts) -> bool:
    for k, v in when.items():
        if k == "any_of":
            ok = any(_matches(sub, facts) for sub in v)
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


# --------------------------------------------------------------------------- decision


@dataclass(frozen=True)
class Reason:
    rule: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "text": self.text}


@dataclass(frozen=True)
class Placement:
    """One body chosen for a dispute; `agency` is None when no agency could be found."""

    body_type: BodyType
    agency: str | None
    agency_tier: Tier | None

    def as_dict(self) -> dict[str, Any]:
        return {"agency": self.agency, "body_type": str(self.body_type),
                "tier": str(self.agency_tier) if self.agency_tier else None}


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
                      f"{cat.name}：默认由{_body_zh(cat.lead)}在{TIER_NAMES_ZH[cat.tier]}层级调处")]
    tier = cat.tier
    lead = cat.lead
    lead_set_by: str | None = None
    assist: list[BodyType] = []
    exclude_mediation = False

    for rule in ruleset.rules:
        if not _matches(rule.when, facts):
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
                              f"辖区内没有可承接的{_body_zh(lead)}，转督办人员指定（不得搁置）"))

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
            f"fallback.none.{body}", f"{TIER_NAMES_ZH[tier]}及以上层级均无覆盖该地区的{_body_zh(body)}")]
    notes = []
    if agency.tier != tier:
        notes.append(Reason(
            f"fallback.tier_up.{body}",
            f"{TIER_NAMES_ZH[tier]}层级无覆盖该地区的{_body_zh(body)}，上移至{TIER_NAMES_ZH[agency.tier]}：{agency.name}"))
    tie = registry.tie_reason(agency, division, exclude)
    return Placement(body, agency.code, agency.tier), notes + ([tie] if tie else [])


def next_candidate(facts: DisputeFacts, decision_body_types: Sequence[BodyType], tier: Tier,
                   registry: Registry, tried: frozenset[str]) -> AgencyInfo | None:
    """The next agency to offer a lead handoff to, never one already tried (DOMAIN.md section 6)."""
    for body in decision_body_types:
        a = registry.find_upwards(body, tier, facts.division, tried, facts.key)
        if a is not None:
            return a
    return None


BODY_NAMES_ZH: dict[BodyType, str] = {
    BodyType.PEOPLE_MEDIATION: "人民调解委员会", BodyType.MEDICAL_MEDIATION: "医疗纠纷人民调解委员会",
    BodyType.TRAFFIC_MEDIATION: "道路交通事故人民调解委员会", BodyType.PROPERTY_MEDIATION: "物业纠纷人民调解委员会",
    BodyType.FAMILY_MEDIATION: "婚姻家事调解组织", BodyType.CONSUMER_MEDIATION: "消费纠纷调解组织",
    BodyType.LABOUR_MEDIATION: "劳动争议调解组织", BodyType.LABOUR_ARBITRATION: "劳动人事争议仲裁委员会",
    BodyType.LAND_ARBITRATION: "农村土地承包仲裁委员会", BodyType.COURT: "人民法院", BodyType.POLICE: "公安机关",
    BodyType.PETITION: "信访部门", BodyType.PROCURATORATE: "人民检察院", BodyType.HOTLINE_12345: "12345热线",
    BodyType.LEGAL_AID: "法律援助机构", BodyType.MARKET_REGULATOR_12315: "市场监督管理部门（12315）",
    BodyType.GOVERNMENT: "乡镇人民政府（街道办事处）",
}


def _body_zh(b: BodyType) -> str:
    return BODY_NAMES_ZH.get(b, str(b))
