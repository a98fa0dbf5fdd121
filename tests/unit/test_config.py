"""The shipped demo county: real division codes, full coverage where routing looks, deliberate gaps."""

from __future__ import annotations

import pytest

from router.domain.model import BodyType, DisputeFacts, Tier
from router.domain.rules import decide
from router.settings import load_domain_config
from tests.builders import ROOT

CONFIG = ROOT / "config"


@pytest.fixture(scope="module")
def cfg():
    return load_domain_config(CONFIG)


def test_divisions_are_a_real_county(cfg):
    tree = cfg.divisions
    assert tree.centre.code == "330681000000" and tree.get("330681000000").name == "诸暨市"
    towns = tree.children("330681000000")
    assert len(towns) == 23 and all(t.level == "town" for t in towns)
    assert tree.get("330681104000").name == "店口镇" and tree.get("330681201000").name == "东和乡"
    for d in tree.by_code.values():  # every code sits under its parent's prefix
        if d.parent:
            parent = tree.get(d.parent)
            assert d.code.startswith(parent.code.rstrip("0")[: len(parent.code.rstrip("0"))])


def test_every_village_and_town_has_its_bodies(cfg):
    reg = cfg.registry
    for d in cfg.divisions.by_code.values():
        if d.level == "village":
            assert reg.find(BodyType.PEOPLE_MEDIATION, Tier.VILLAGE, d.code), d.code
        if d.level == "town":
            for b in (BodyType.PEOPLE_MEDIATION, BodyType.POLICE, BodyType.GOVERNMENT, BodyType.FAMILY_MEDIATION,
                      BodyType.PROPERTY_MEDIATION):
                assert reg.find(b, Tier.TOWN, d.code), (b, d.code)


def test_the_county_has_every_body_type(cfg):
    for b in BodyType:
        assert cfg.registry.find(b, Tier.DISTRICT, "330681104293"), b


def test_labour_in_donghe_falls_back_to_the_county(cfg):
    d = decide(DisputeFacts(category="LABOUR", division="330681201000"), cfg.ruleset, cfg.registry)
    assert d.lead.agency == "ZJ-LM-330681000000"
    assert "fallback.tier_up.labour_mediation" in {r.rule for r in d.reasons}


def test_every_agency_has_an_endpoint(cfg):
    assert all(a.endpoint and a.endpoint.startswith("http") for a in cfg.agencies)
