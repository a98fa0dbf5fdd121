"""Every adapter's payload validates against its published contract; the files are current."""

from __future__ import annotations

import json

import jsonschema
import pytest

from router.adapters import adapter_for, all_body_types
from router.adapters.base import classify
from router.adapters.contracts import render_all, sample_context
from router.domain.model import BodyType
from tests.builders import CONTRACTS


def test_every_body_type_has_an_adapter():
    assert set(all_body_types()) == {b.value for b in BodyType}


@pytest.mark.parametrize("body_type", all_body_types())
def test_payload_validates_against_the_checked_in_schema(body_type):
    schema = json.loads((CONTRACTS / f"handoff-{body_type}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    payload = adapter_for(body_type).build(sample_context(body_type))
    validator.validate(payload)
    for example in schema["examples"]:
        validator.validate(example)
    broken = dict(payload)
    broken["unexpected"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_contract_files_are_current():
    for name, text in render_all().items():
        path = CONTRACTS / name
        assert path.exists() and json.loads(path.read_text(encoding="utf-8")) == json.loads(text), (
            f"{name} is stale: run `dispute-router contracts --write contracts`")


def test_court_carries_identity_and_agreement_for_confirmation():
    ctx = sample_context("court")
    p = adapter_for("court").build(ctx)
    assert p["request"] == "entrusted_mediation"
    assert p["parties"][0]["id_number"] == "110101199003074514"
    from dataclasses import replace

    from router.adapters.base import AgreementData

    agreement = AgreementData("分期支付", "12000.00", "2026-11-20", None, "ZJ-PM-1", "某调委会")
    conf = adapter_for("court").build(replace(ctx, role="confirm", agreement=agreement))
    assert conf["request"] == "judicial_confirmation" and conf["agreement"]["terms"] == "分期支付"


def test_police_puts_risk_first_and_hotline_speaks_work_orders():
    police = adapter_for("police").build(sample_context("police"))
    assert list(police)[:2] == ["risk_flags", "risk_level"] and police["risk_level"] == "urgent"
    hotline = adapter_for("hotline_12345").build(sample_context("hotline_12345"))
    assert hotline["work_order_no"] == "诸暨调〔2026〕000123号" and hotline["reply_required"] is True
    assert hotline["sign_by"] == "2026-11-26T23:59:59+08:00"


def test_legal_aid_gets_only_applicants():
    p = adapter_for("legal_aid").build(sample_context("legal_aid"))
    assert [a["role"] for a in p["applicants"]] == ["applicant"]


@pytest.mark.parametrize(("status", "outcome"), [(200, "delivered"), (202, "delivered"), (429, "retry"),
                                                 (500, "retry"), (503, "retry"), (400, "final"), (404, "final"),
                                                 (410, "final"), (301, "final")])
def test_response_classification(status, outcome):
    assert classify(status, None, 0.0)[0] == outcome


def test_retry_after_seconds_and_date():
    assert classify(429, "7", 0.0) == ("retry", 7.0)
    assert classify(503, "Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0)[1] == pytest.approx(10.0)
