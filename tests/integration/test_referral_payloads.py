"""What reaches an agency after an outcome, validated against the published contracts: the court's
judicial-confirmation request carries the agreement; labour arbitration after a failed labour
mediation carries that mediation. Real delivery: outbox, relay, worker, signed POST to the stub."""

from __future__ import annotations

import json

import jsonschema

from tests.builders import CONTRACTS, post_dispute, wait_for

TERMS = "被申请人于2026年12月20日前一次性支付工资12000元"


def _received(stub, handoff):
    return wait_for(lambda: next((r for r in stub.deliveries(handoff["agency"])
                                  if r.headers.get("Idempotency-Key") == handoff["id"]), None), what="the delivery")


def _valid(payload, body_type):
    schema = json.loads((CONTRACTS / f"handoff-{body_type}.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(payload, schema, format_checker=jsonschema.FormatChecker())


def _handoff(live, dispute_id, role, body_type=None):
    d = live.get(f"/api/v1/disputes/{dispute_id}").json()
    return [h for h in d["handoffs"] if h["role"] == role and (body_type is None or h["body_type"] == body_type)][-1]


def test_the_court_receives_the_agreement_it_is_asked_to_confirm(live, svc, stub, background, agencies, clock):
    d = post_dispute(live, svc, category="NEIGHBOUR")
    lead = _handoff(live, d["id"], "lead")
    clock.advance(hours=2)
    outcome = {"result": "agreement", "agreement": {"terms": TERMS, "amount": "12000.00", "fulfil_by": "2026-12-20",
                                                    "judicial_confirmation": True}}
    r = agencies(lead["agency"]).event(lead["id"], "outcome", outcome=outcome)
    assert r.status_code == 200, r.text
    court = _handoff(live, d["id"], "confirm")
    payload = _received(stub, court).payload
    _valid(payload, "court")
    assert payload["role"] == "confirm"
    assert payload["request"] == "judicial_confirmation"
    agreement = payload["agreement"]
    assert agreement["terms"] == TERMS and agreement["amount"] == "12000.00"
    assert agreement["fulfil_by"] == "2026-12-20" and agreement["signed_on"] == "2026-11-23"
    assert agreement["mediated_by"] == lead["agency"]


def test_arbitration_after_a_failed_labour_mediation_carries_that_mediation(live, svc, stub, background, agencies,
                                                                           clock):
    d = post_dispute(live, svc, category="LABOUR", summary="拖欠工资三个月")
    mediation = _handoff(live, d["id"], "lead")
    assert mediation["body_type"] == "labour_mediation"
    clock.advance(hours=3)
    a = agencies(mediation["agency"])
    assert a.event(mediation["id"], "acknowledged").status_code == 200
    clock.advance(days=2)
    r = a.event(mediation["id"], "outcome", outcome={"result": "failed"}, note="双方对工资数额分歧过大")
    assert r.status_code == 200, r.text
    arbitration = _handoff(live, d["id"], "lead", "labour_arbitration")
    payload = _received(stub, arbitration).payload
    _valid(payload, "labour_arbitration")
    prior = payload["prior_mediation"]
    assert prior is not None, "arbitration must learn of the mediation that failed"
    assert prior["agency"] == mediation["agency"] and prior["body_type"] == "labour_mediation"
    assert prior["result"] == "failed" and prior["note"] == "双方对工资数额分歧过大"
    assert prior["acknowledged_at"].startswith("2026-11-23") and prior["concluded_at"].startswith("2026-11-25")
