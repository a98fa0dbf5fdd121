"""docs/domain.md §5: every body type's deadlines as configured, and the escalation defaults."""

from __future__ import annotations

import pytest
import yaml

from router.domain.bodies import Bodies
from router.domain.errors import ConfigError
from router.domain.model import BodyType
from tests.builders import ROOT

CONFIG = ROOT / "config" / "bodies.yaml"


@pytest.fixture(scope="module")
def bodies() -> Bodies:
    return Bodies.from_mapping(yaml.safe_load(CONFIG.read_text(encoding="utf-8")))


# body type: (acknowledge, return within, handle) as docs/domain.md §5's table gives them
TABLE = {
    "people_mediation": ("3w", "3w", "30c"), "family_mediation": ("3w", "3w", "30c"),
    "property_mediation": ("3w", "3w", "30c"), "traffic_mediation": ("3w", "3w", "30c"),
    "medical_mediation": ("3w", "3w", "30w"), "labour_mediation": ("3w", "3w", "15c"),
    "labour_arbitration": ("5c", "5c", "45c"), "court": ("3w", "3w", "15c"), "police": ("24h", "24h", "7w"),
    "petition": ("15c", "5w", "60c"), "procuratorate": ("7w", "7w", "90c"), "hotline_12345": ("1w", "1w", "5w"),
    "legal_aid": ("7c", "7c", "3c"), "consumer_mediation": ("7w", "7w", "45w"),
    "market_regulator_12315": ("7w", "7w", "45w"),
}


@pytest.mark.parametrize("body_type", sorted(TABLE))
def test_deadlines_match_domain_table(bodies, body_type):
    cfg = bodies[BodyType(body_type)]
    assert (str(cfg.acknowledge), str(cfg.return_within), str(cfg.handle)) == TABLE[body_type]
    assert cfg.basis


def test_extensions_and_confirmation(bodies):
    assert str(bodies[BodyType.PEOPLE_MEDIATION].extra["extension"]) == "30c"
    assert str(bodies[BodyType.LABOUR_ARBITRATION].extra["extension"]) == "15c"
    court = bodies[BodyType.COURT].extra
    assert (str(court["confirmation_accept"]), str(court["confirmation_rule"]),
            str(court["confirmation_extension"])) == ("3c", "15c", "10c")
    assert str(bodies[BodyType.PETITION].extra["extension"]) == "30c"


def test_escalation_ladder_defaults(bodies):
    assert {k: str(v) for k, v in bodies.escalation.items()} == {
        "warn_before": "1w", "urge_after": "1c", "escalate_after": "5w"}


def test_every_body_type_is_configured(bodies):
    assert set(bodies.types) == set(BodyType)


def test_rule_text_names_period_and_basis(bodies):
    rule = bodies[BodyType.LABOUR_MEDIATION].rule("acknowledge")
    assert rule.startswith("labour_mediation.acknowledge=3w") and "劳动争议调解仲裁法" in rule


def test_short_units_only_when_allowed():
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["body_types"]["police"]["acknowledge"] = "30s"
    with pytest.raises(ConfigError) as e:
        Bodies.from_mapping(data)
    assert e.value.key == "body_types.police.acknowledge"
    assert str(Bodies.from_mapping(data, allow_short_units=True)[BodyType.POLICE].acknowledge) == "30s"


def test_missing_body_type_is_a_config_error():
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    del data["body_types"]["court"]
    with pytest.raises(ConfigError) as e:
        Bodies.from_mapping(data)
    assert "court" in e.value.problem
