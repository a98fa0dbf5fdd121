"""Two agencies of one body type, tier and equally specific jurisdiction: the choice is explicit.
A higher `priority` wins; equal priorities share the load deterministically by the dispute, and the
routing reasons say which happened, so a newly added agency never silently takes an area over."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from router.domain.model import BodyType, DisputeFacts, Tier
from router.domain.registry import AgencyInfo, Registry
from router.domain.rules import decide
from router.domain.ruleset import RuleSet
from router.settings import load_agencies, load_domain_config

CONFIG = Path(__file__).resolve().parents[2] / "config"
TOWN, VILLAGE = "330681001000", "330681001001"


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    raw = (CONFIG / "routing.yaml").read_bytes()
    return RuleSet.from_mapping(yaml.safe_load(raw), raw)


def _registry(*priorities: int) -> Registry:
    agencies = [AgencyInfo(f"PM-{chr(65 + i)}", f"调委会{chr(65 + i)}", BodyType.PEOPLE_MEDIATION, Tier.VILLAGE,
                           (VILLAGE,), priority=p) for i, p in enumerate(priorities)]
    return Registry(agencies)


def _facts(key: str) -> DisputeFacts:
    return DisputeFacts(category="NEIGHBOUR", division=VILLAGE, key=key)


def test_the_higher_priority_wins_whatever_the_codes_and_says_so(ruleset):
    d = decide(_facts("d-1"), ruleset, _registry(0, 5))
    assert d.lead.agency == "PM-B"
    reason = next(r for r in d.reasons if r.rule.startswith("tie."))
    assert reason.rule == "tie.priority.people_mediation"
    assert "PM-B" in reason.text and "优先级" in reason.text


def test_equal_priorities_share_the_load_and_each_dispute_keeps_its_agency(ruleset):
    reg = _registry(0, 0, 0)
    chosen = [decide(_facts(f"dispute-{i}"), ruleset, reg).lead.agency for i in range(600)]
    counts = Counter(chosen)
    assert set(counts) == {"PM-A", "PM-B", "PM-C"}
    assert all(150 <= n <= 250 for n in counts.values()), counts
    assert chosen == [decide(_facts(f"dispute-{i}"), ruleset, reg).lead.agency for i in range(600)]
    reason = next(r for r in decide(_facts("dispute-1"), ruleset, reg).reasons if r.rule.startswith("tie."))
    assert reason.rule == "tie.shared.people_mediation" and "分担" in reason.text


def test_adding_an_equal_agency_moves_only_its_share(ruleset):
    before = {i: decide(_facts(f"d{i}"), ruleset, _registry(0, 0)).lead.agency for i in range(400)}
    after = {i: decide(_facts(f"d{i}"), ruleset, _registry(0, 0, 0)).lead.agency for i in range(400)}
    moved = [i for i in before if before[i] != after[i]]
    assert all(after[i] == "PM-C" for i in moved)  # nobody moves between the two old agencies
    assert 80 <= len(moved) <= 190


def test_no_tie_no_tie_reason(ruleset):
    d = decide(_facts("d-1"), ruleset, _registry(0))
    assert not [r for r in d.reasons if r.rule.startswith("tie.")]


def test_priority_is_read_from_agencies_yaml_and_checked():
    cfg = load_domain_config(CONFIG)
    data = {"agencies": [{"code": "X", "name": "x", "body_type": "people_mediation", "tier": "village",
                          "jurisdiction": [VILLAGE], "priority": 7}]}
    assert load_agencies(data, cfg.divisions)[0].info.priority == 7
    data["agencies"][0]["priority"] = "high"
    with pytest.raises(Exception, match="priority"):
        load_agencies(data, cfg.divisions)
