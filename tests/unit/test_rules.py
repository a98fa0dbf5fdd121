"""docs/domain.md §4: every default dispatch row and every risk/size/division/wish rule.

A small synthetic registry keeps these tests about the rules, not about the demo county.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from router.domain.errors import ConfigError
from router.domain.model import (
    BodyType,
    DisputeFacts,
    Feature,
    Party,
    PartyKind,
    PartyRole,
    RiskFlag,
    Source,
    Tier,
    Wish,
)
from router.domain.registry import AgencyInfo, Registry, covers, division_prefix
from router.domain.rules import decide, next_candidate
from router.domain.ruleset import RuleSet
from tests.builders import ROOT

ROUTING = ROOT / "config" / "routing.yaml"

CITY, COUNTY, COUNTY2 = "330600000000", "330681000000", "330603000000"
TOWN_A, TOWN_B = "330681001000", "330681002000"
VIL_A1, VIL_A2, VIL_B1 = "330681001001", "330681001002", "330681002001"
VIL_X1 = "330603001001"  # another county of the same city


def _agencies() -> list[AgencyInfo]:
    out = []
    every = list(BodyType)
    for b in every:  # the whole set at district and city tier
        out.append(AgencyInfo(f"D-{b}", f"county {b}", b, Tier.DISTRICT, (COUNTY,)))
        out.append(AgencyInfo(f"C-{b}", f"city {b}", b, Tier.CITY, (CITY,)))
    for town in (TOWN_A, TOWN_B):
        for b in (BodyType.PEOPLE_MEDIATION, BodyType.LABOUR_MEDIATION, BodyType.PROPERTY_MEDIATION,
                  BodyType.POLICE, BodyType.GOVERNMENT, BodyType.FAMILY_MEDIATION):
            out.append(AgencyInfo(f"T-{b}-{town}", f"town {b}", b, Tier.TOWN, (town,)))
    for v in (VIL_A1, VIL_A2, VIL_B1):
        out.append(AgencyInfo(f"V-pm-{v}", "village committee", BodyType.PEOPLE_MEDIATION, Tier.VILLAGE, (v,)))
    out.append(AgencyInfo(f"V-fm-{VIL_A1}", "family studio", BodyType.FAMILY_MEDIATION, Tier.VILLAGE, (VIL_A1,)))
    return out


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    raw = ROUTING.read_bytes()
    return RuleSet.from_mapping(yaml.safe_load(raw), raw)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry(_agencies())


def facts(category: str = "NEIGHBOUR", division: str = VIL_A1, **kw) -> DisputeFacts:
    parties = kw.pop("parties", (Party(PartyRole.APPLICANT, PartyKind.PERSON, "张三", division),
                                 Party(PartyRole.RESPONDENT, PartyKind.PERSON, "李四", division)))
    return DisputeFacts(category=category, division=division, parties=parties, **kw)


def rules_fired(d) -> list[str]:
    return [r.rule for r in d.reasons]


# ---------------------------------------------------------------- category defaults (15 rows)
DEFAULTS = [
    ("MARRIAGE_FAMILY", BodyType.FAMILY_MEDIATION, Tier.VILLAGE),
    ("NEIGHBOUR", BodyType.PEOPLE_MEDIATION, Tier.VILLAGE),
    ("HOUSING_HOMESTEAD", BodyType.PEOPLE_MEDIATION, Tier.VILLAGE),
    ("CONTRACT", BodyType.PEOPLE_MEDIATION, Tier.TOWN),
    ("PRODUCTION_BUSINESS", BodyType.PEOPLE_MEDIATION, Tier.TOWN),
    ("DAMAGES", BodyType.PEOPLE_MEDIATION, Tier.VILLAGE),
    ("FOREST_LAND", BodyType.PEOPLE_MEDIATION, Tier.TOWN),
    ("LAND_EXPROPRIATION_DEMOLITION", BodyType.PETITION, Tier.DISTRICT),
    ("ENVIRONMENT", BodyType.PEOPLE_MEDIATION, Tier.DISTRICT),
    ("LABOUR", BodyType.LABOUR_MEDIATION, Tier.TOWN),
    ("CONSUMER", BodyType.CONSUMER_MEDIATION, Tier.DISTRICT),
    ("MEDICAL", BodyType.MEDICAL_MEDIATION, Tier.DISTRICT),
    ("TRAFFIC_ACCIDENT", BodyType.TRAFFIC_MEDIATION, Tier.DISTRICT),
    ("PROPERTY_MGMT", BodyType.PROPERTY_MEDIATION, Tier.TOWN),
    ("OTHER", BodyType.PEOPLE_MEDIATION, Tier.TOWN),
]


def test_fifteen_categories_are_configured(ruleset):
    assert sorted(ruleset.categories) == sorted(c for c, _, _ in DEFAULTS)


@pytest.mark.parametrize(("category", "lead", "tier"), DEFAULTS)
def test_category_default_lead_and_tier(ruleset, registry, category, lead, tier):
    d = decide(facts(category), ruleset, registry)
    assert d.tier == tier
    assert d.lead.body_type == lead
    assert d.lead.agency is not None
    assert d.assisting == ()
    assert rules_fired(d)[0] == f"category.{category}"
    assert d.reasons[0].text.startswith(ruleset.categories[category].name)
    assert d.ruleset_version.startswith("2026.11+")


def test_next_on_failure_and_alternatives(ruleset):
    cats = ruleset.categories
    assert cats["LABOUR"].next_on_failure == BodyType.LABOUR_ARBITRATION
    assert cats["TRAFFIC_ACCIDENT"].next_on_failure == BodyType.POLICE
    assert cats["FOREST_LAND"].next_on_failure == BodyType.LAND_ARBITRATION
    assert cats["CONSUMER"].alternatives == (BodyType.MARKET_REGULATOR_12315,)
    assert cats["NEIGHBOUR"].next_on_failure is None  # guidance to litigation


def test_village_agency_is_the_one_covering_the_village(ruleset, registry):
    assert decide(facts("NEIGHBOUR", VIL_A2), ruleset, registry).lead.agency == f"V-pm-{VIL_A2}"
    assert decide(facts("NEIGHBOUR", VIL_B1), ruleset, registry).lead.agency == f"V-pm-{VIL_B1}"


# ---------------------------------------------------------------- risk and size rules
def test_violence_threat_adds_police_and_lifts_to_town(ruleset, registry):
    d = decide(facts(risk_flags=frozenset({RiskFlag.VIOLENCE_THREAT})), ruleset, registry)
    assert d.tier == Tier.TOWN
    assert [p.body_type for p in d.assisting] == [BodyType.POLICE]
    assert d.assisting[0].agency == f"T-police-{TOWN_A}"
    assert "risk.violence_threat" in rules_fired(d)
    assert "第25条" in next(r.text for r in d.reasons if r.rule == "risk.violence_threat")


def test_violence_threat_never_lowers_a_higher_tier(ruleset, registry):
    d = decide(facts("MEDICAL", risk_flags=frozenset({RiskFlag.VIOLENCE_THREAT})), ruleset, registry)
    assert d.tier == Tier.DISTRICT


def test_domestic_violence_adds_police_and_legal_aid(ruleset, registry):
    d = decide(facts("MARRIAGE_FAMILY", risk_flags=frozenset({RiskFlag.DOMESTIC_VIOLENCE})), ruleset, registry)
    assert {p.body_type for p in d.assisting} == {BodyType.POLICE, BodyType.LEGAL_AID}
    assert d.lead.body_type == BodyType.FAMILY_MEDIATION
    assert "72小时" in next(r.text for r in d.reasons if r.rule == "risk.domestic_violence")


def test_death_or_serious_injury_goes_to_district(ruleset, registry):
    d = decide(facts("DAMAGES", risk_flags=frozenset({RiskFlag.DEATH_OR_SERIOUS_INJURY})), ruleset, registry)
    assert d.tier == Tier.DISTRICT
    assert d.lead.agency == "D-people_mediation"


@pytest.mark.parametrize(("people", "tier"), [(4, Tier.VILLAGE), (5, Tier.DISTRICT)])
def test_five_or_more_people_is_collective(ruleset, registry, people, tier):
    d = decide(facts(people_involved=people), ruleset, registry)
    assert d.tier == tier
    assert ("size.group" in rules_fired(d)) == (people >= 5)


def test_group_flag_alone_is_collective(ruleset, registry):
    assert decide(facts(risk_flags=frozenset({RiskFlag.GROUP})), ruleset, registry).tier == Tier.DISTRICT


def test_collective_petition_adds_petition(ruleset, registry):
    d = decide(facts(people_involved=6, source=Source.PETITION), ruleset, registry)
    assert BodyType.PETITION in {p.body_type for p in d.assisting}
    d2 = decide(facts(people_involved=6, source=Source.WALK_IN), ruleset, registry)
    assert BodyType.PETITION not in {p.body_type for p in d2.assisting}


@pytest.mark.parametrize(("workers", "expect"), [(9, False), (10, True)])
def test_labour_ten_workers(ruleset, registry, workers, expect):
    d = decide(facts("LABOUR", people_involved=workers), ruleset, registry)
    assert d.tier == Tier.DISTRICT  # 9 workers is still a group of 5+
    assisting = {p.body_type for p in d.assisting}
    assert ({BodyType.LABOUR_ARBITRATION, BodyType.LEGAL_AID} <= assisting) == expect
    assert ("size.labour_collective" in rules_fired(d)) == expect


def test_ten_people_in_another_category_is_not_labour_collective(ruleset, registry):
    d = decide(facts("CONTRACT", people_involved=10), ruleset, registry)
    assert "size.labour_collective" not in rules_fired(d)


def _two(div_a: str, div_b: str) -> tuple[Party, ...]:
    return (Party(PartyRole.APPLICANT, PartyKind.PERSON, "张三", div_a),
            Party(PartyRole.RESPONDENT, PartyKind.PERSON, "李四", div_b))


@pytest.mark.parametrize(("a", "b", "tier", "rule"), [
    (VIL_A1, VIL_A1, Tier.VILLAGE, None),
    (VIL_A1, VIL_A2, Tier.TOWN, "division.cross_village"),
    (VIL_A1, VIL_B1, Tier.DISTRICT, "division.cross_town"),
    (VIL_A1, VIL_X1, Tier.CITY, "division.cross_district"),
])
def test_parties_in_different_divisions(ruleset, registry, a, b, tier, rule):
    d = decide(facts("NEIGHBOUR", parties=_two(a, b)), ruleset, registry)
    assert d.tier == tier
    fired = [r for r in rules_fired(d) if r.startswith("division.")]
    assert fired == ([rule] if rule else [])


@pytest.mark.parametrize(("amount", "tier"), [
    ("99999.99", Tier.VILLAGE), ("100000", Tier.TOWN), ("999999.99", Tier.TOWN), ("1000000", Tier.DISTRICT)])
def test_amount_thresholds(ruleset, registry, amount, tier):
    assert decide(facts(amount=Decimal(amount)), ruleset, registry).tier == tier


def test_already_in_proceedings_is_not_for_mediation(ruleset, registry):
    d = decide(facts(risk_flags=frozenset({RiskFlag.ALREADY_IN_PROCEEDINGS}), source=Source.POLICE),
               ruleset, registry)
    assert d.lead.body_type == BodyType.POLICE
    d2 = decide(facts(risk_flags=frozenset({RiskFlag.ALREADY_IN_PROCEEDINGS})), ruleset, registry)
    assert d2.lead.body_type == BodyType.COURT
    assert "exclusion.already_in_proceedings" in rules_fired(d2)


def test_government_party_goes_to_petition_not_mediation(ruleset, registry):
    parties = (Party(PartyRole.APPLICANT, PartyKind.PERSON, "张三", VIL_A1),
               Party(PartyRole.RESPONDENT, PartyKind.GOVERNMENT, "某镇人民政府", VIL_A1))
    d = decide(facts("NEIGHBOUR", parties=parties), ruleset, registry)
    assert d.lead.body_type == BodyType.PETITION
    assert d.tier == Tier.DISTRICT
    d2 = decide(facts(risk_flags=frozenset({RiskFlag.GOVERNMENT_PARTY})), ruleset, registry)
    assert d2.lead.body_type == BodyType.PETITION


def test_government_party_strips_mediation_assistants(ruleset, registry):
    d = decide(facts("DAMAGES", features=frozenset({Feature.FIGHT_INJURY}),
                     risk_flags=frozenset({RiskFlag.GOVERNMENT_PARTY})), ruleset, registry)
    assert d.lead.body_type == BodyType.PETITION
    assert all(p.body_type != BodyType.PEOPLE_MEDIATION for p in d.assisting)
    assert "主办单位已由规则 exclusion.government_party 确定" in next(
        r.text for r in d.reasons if r.rule == "feature.fight_injury")


def test_wish_litigation_leads_court_through_tier_fallback(ruleset, registry):
    d = decide(facts(wish=Wish.LITIGATION), ruleset, registry)
    assert d.lead.body_type == BodyType.COURT
    assert d.lead.agency == "D-court"  # no court at village or town in this registry
    assert "fallback.tier_up.court" in rules_fired(d)


def test_wish_arbitration_only_for_labour(ruleset, registry):
    d = decide(facts("LABOUR", wish=Wish.ARBITRATION), ruleset, registry)
    assert d.lead.body_type == BodyType.LABOUR_ARBITRATION
    d2 = decide(facts("CONTRACT", wish=Wish.ARBITRATION), ruleset, registry)
    assert d2.lead.body_type == BodyType.PEOPLE_MEDIATION


def test_title_dispute_goes_to_town_government(ruleset, registry):
    d = decide(facts("HOUSING_HOMESTEAD", features=frozenset({Feature.TITLE_DISPUTE})), ruleset, registry)
    assert d.lead.body_type == BodyType.GOVERNMENT
    assert d.lead.agency == f"T-government-{TOWN_A}"


def test_fight_injury_goes_to_police_first(ruleset, registry):
    d = decide(facts("DAMAGES", features=frozenset({Feature.FIGHT_INJURY})), ruleset, registry)
    assert d.lead.body_type == BodyType.POLICE
    assert [p.body_type for p in d.assisting] == [BodyType.PEOPLE_MEDIATION]


# ---------------------------------------------------------------- fallbacks
def test_no_agency_at_tier_tries_next_tier_up(ruleset, registry):
    d = decide(facts("MARRIAGE_FAMILY", VIL_A2), ruleset, registry)  # no family studio in VIL_A2
    assert d.lead.agency == f"T-family_mediation-{TOWN_A}"
    assert d.lead.agency_tier == Tier.TOWN
    assert d.tier == Tier.VILLAGE
    assert "fallback.tier_up.family_mediation" in rules_fired(d)


def test_no_agency_anywhere_needs_supervisor(ruleset):
    empty = Registry([])
    d = decide(facts("NEIGHBOUR"), ruleset, empty)
    assert d.needs_supervisor
    assert d.lead.agency is None
    assert rules_fired(d)[-1] == "fallback.needs_supervisor"


def test_alternative_body_used_when_lead_type_missing(ruleset):
    reg = Registry([AgencyInfo("M", "12315", BodyType.MARKET_REGULATOR_12315, Tier.DISTRICT, (COUNTY,))])
    d = decide(facts("CONSUMER"), ruleset, reg)
    assert d.lead.agency == "M"
    assert d.lead.body_type == BodyType.MARKET_REGULATOR_12315


def test_next_candidate_skips_tried_agencies(ruleset, registry):
    f = facts("NEIGHBOUR", VIL_A1)
    first = next_candidate(f, [BodyType.PEOPLE_MEDIATION], Tier.VILLAGE, registry, frozenset())
    assert first.code == f"V-pm-{VIL_A1}"
    second = next_candidate(f, [BodyType.PEOPLE_MEDIATION], Tier.VILLAGE, registry, frozenset({first.code}))
    assert second.code == f"T-people_mediation-{TOWN_A}"


def test_inactive_agency_is_never_chosen(ruleset):
    reg = Registry([AgencyInfo("X", "off", BodyType.PEOPLE_MEDIATION, Tier.VILLAGE, (VIL_A1,), active=False),
                    AgencyInfo("Y", "on", BodyType.PEOPLE_MEDIATION, Tier.TOWN, (TOWN_A,))])
    assert decide(facts(), ruleset, reg).lead.agency == "Y"


def test_a_party_known_only_by_town_is_not_in_another_village(ruleset, registry):
    d = decide(facts("NEIGHBOUR", parties=_two(VIL_A1, TOWN_A)), ruleset, registry)
    assert d.tier == Tier.VILLAGE and not [r for r in rules_fired(d) if r.startswith("division.")]
    d = decide(facts("NEIGHBOUR", parties=_two(VIL_A1, TOWN_B)), ruleset, registry)
    assert "division.cross_town" in rules_fired(d)


def test_division_prefixes():
    assert division_prefix(COUNTY) == "330681"
    assert division_prefix(CITY) == "3306"
    assert division_prefix(TOWN_A) == "330681001"
    assert division_prefix(VIL_A1) == VIL_A1
    assert covers(COUNTY, VIL_B1) and covers(TOWN_A, VIL_A2) and not covers(TOWN_A, VIL_B1)


# ---------------------------------------------------------------- config validation
def test_bad_routing_config_names_the_key():
    with pytest.raises(ConfigError) as e:
        RuleSet.from_mapping({"version": "1", "categories": {"X": {"name": "x", "lead": "wizard", "tier": "town"}}})
    assert e.value.file == "routing.yaml" and e.value.key == "categories.X.lead"
    with pytest.raises(ConfigError) as e:
        RuleSet.from_mapping({"version": "1", "categories": {"X": {"name": "x", "lead": "court", "tier": "town"}},
                              "rules": [{"id": "r", "when": {"moon_phase": "full"}, "text": "t"}]})
    assert e.value.key == "rules.r.when.moon_phase"


def test_version_changes_with_the_file(ruleset):
    raw = ROUTING.read_bytes()
    other = RuleSet.from_mapping(yaml.safe_load(raw), raw + b"\n# tuned\n")
    assert other.version != ruleset.version
