"""Every key in every config file means something: an unknown one stops the start, naming the file,
the key and the problem, so a typo never silently changes routing or deadlines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from router.domain.errors import ConfigError
from router.settings import load_domain_config

CONFIG = Path(__file__).resolve().parents[2] / "config"


def _with(tmp_path: Path, file: str, change) -> Path:
    d = tmp_path / "config"
    shutil.copytree(CONFIG, d)
    data = yaml.safe_load((d / file).read_text(encoding="utf-8"))
    change(data)
    (d / file).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return d


CASES = [
    ("routing.yaml", lambda d: d.update(versoin="x"), "versoin"),
    ("routing.yaml", lambda d: d["categories"]["LABOUR"].update(mask_name=True), "categories.LABOUR.mask_name"),
    ("routing.yaml", lambda d: d["rules"][0].update(min_teir="city"), "rules.exclusion.government_party.min_teir"),
    ("bodies.yaml", lambda d: d.update(body_type={}), "body_type"),
    ("bodies.yaml", lambda d: d["defaults"].update(escalations={}), "defaults.escalations"),
    ("bodies.yaml", lambda d: d["defaults"]["follow_through"].update(follow_up=3), "defaults.follow_through.follow_up"),
    ("bodies.yaml", lambda d: d["body_types"]["police"].update(acknowledge_urgent="1h"),
     "body_types.police.acknowledge_urgent"),
    ("divisions.yaml", lambda d: d.update(center={}), "center"),
    ("divisions.yaml", lambda d: d["centre"].update(prefix="x"), "centre.prefix"),
    ("divisions.yaml", lambda d: d["divisions"][0].update(levl="city"), "divisions[0].levl"),
    ("agencies.yaml", lambda d: d.update(agency=[]), "agency"),
    ("agencies.yaml", lambda d: d["agencies"][0].update(endpont="http://x"), "agencies.SX-PM-330600000000.endpont"),
]


@pytest.mark.parametrize(("file", "change", "key"), CASES, ids=[c[2] for c in CASES])
def test_an_unknown_key_stops_the_start_naming_file_and_key(tmp_path, file, change, key):
    with pytest.raises(ConfigError) as e:
        load_domain_config(_with(tmp_path, file, change))
    assert (e.value.file, e.value.key) == (file, key), str(e.value)
    assert "unknown key" in e.value.problem


def test_the_shipped_config_has_no_key_that_does_nothing():
    bodies = yaml.safe_load((CONFIG / "bodies.yaml").read_text(encoding="utf-8"))
    assert all("urgent_acknowledge" not in b for b in bodies["body_types"].values())
    load_domain_config(CONFIG)  # and every key it has is known


def test_a_misspelt_source_in_lead_from_source_stops_the_start(tmp_path):
    """lead_from_source is keyed by intake source: a misspelt one would silently never apply."""
    def misspell(d):
        rule = next(r for r in d["rules"] if r["id"] == "exclusion.already_in_proceedings")
        rule["lead_from_source"]["polise"] = rule["lead_from_source"].pop("police")

    with pytest.raises(ConfigError) as e:
        load_domain_config(_with(tmp_path, "routing.yaml", misspell))
    assert e.value.key == "rules.exclusion.already_in_proceedings.lead_from_source.polise"

