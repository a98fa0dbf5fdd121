"""Delivery on the embedded default: outbox -> relay -> in-process broker -> worker -> signed POST
to the stub agency over real HTTP -> handoff delivered, with retries and failures audited."""

from __future__ import annotations

import json

import jsonschema
from sqlalchemy import select

from router.store.models import Delivery, Event
from tests.builders import CONTRACTS, body, county, handoff_state, wait_for


def test_dispute_reaches_the_agency_signed_and_valid(live, svc, stub, background):
    c = county(svc)
    sent = body(c["v"], "LABOUR", risk_flags=["violence_threat"])
    d = live.post("/api/v1/disputes", sent).json()
    lead = next(h for h in d["handoffs"] if h["role"] == "lead")
    got = wait_for(lambda: stub.deliveries(lead["agency"]))
    r = got[0]
    assert r.verified
    assert r.headers["Idempotency-Key"] == lead["id"]
    schema = json.loads((CONTRACTS / "handoff-labour_mediation.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(r.payload, schema, format_checker=jsonschema.FormatChecker())
    assert r.payload["reference"] == d["reference"]
    assert r.payload["parties"][0]["id_number"] == sent["parties"][0]["id_number"]
    police = next(h for h in d["handoffs"] if h["body_type"] == "police")
    wait_for(lambda: stub.deliveries(police["agency"]))
    wait_for(lambda: handoff_state(svc, lead["id"]) == "delivered")
    with svc.ctx.store.read() as s:
        ev = s.scalar(select(Event).where(Event.handoff_id == lead["id"], Event.type == "handoff.deliver"))
        assert ev.data["attempt"] == 1 and ev.data["status"] == 200 and ev.occurred_at is not None
        assert ev.data["pii_revealed"] == ["parties.0.id_number", "parties.0.phone"]  # the reveal is audited
    assert svc.verify_chain()["ok"]
    metrics = live.get("/metrics", role=None).text
    assert 'router_delivery_attempts_total{body_type="labour_mediation",outcome="delivered"}' in metrics


def test_server_errors_are_retried_then_delivered(live, svc, stub, background, clock):
    stub.behave(fail_next=2, fail_status=503)
    c = county(svc)
    d = live.post("/api/v1/disputes", body(c["v"])).json()
    lead = d["handoffs"][0]
    wait_for(lambda: len(stub.deliveries(lead["agency"], ok=False)) >= 1)
    # The retry is scheduled 5 s (then 5 min) later: move the clock instead of sleeping.
    for _ in range(3):
        clock.advance(minutes=10)
        try:
            wait_for(lambda: handoff_state(svc, lead["id"]) == "delivered", timeout=4)
            break
        except AssertionError:
            continue
    assert handoff_state(svc, lead["id"]) == "delivered"
    with svc.ctx.store.read() as s:
        failed = s.scalars(select(Event).where(Event.handoff_id == lead["id"],
                                               Event.type == "delivery.attempt_failed")).all()
        assert [e.data["status"] for e in failed] == [503, 503]
        assert s.scalar(select(Delivery).where(Delivery.handoff_id == lead["id"])).attempts == 3


def test_a_4xx_makes_the_handoff_undeliverable_and_reroutes(live, svc, stub, background):
    c = county(svc)
    d = live.post("/api/v1/disputes", body(c["v"])).json()
    first = d["handoffs"][0]
    stub.behave(first["agency"], status=410)
    wait_for(lambda: handoff_state(svc, first["id"]) == "undeliverable")
    after = live.get(f"/api/v1/disputes/{d['id']}").json()
    leads = [h for h in after["handoffs"] if h["role"] == "lead"]
    assert len(leads) == 2 and leads[1]["agency"] != first["agency"] and leads[1]["placement"] == 2
    with svc.ctx.store.read() as s:
        ev = s.scalar(select(Event).where(Event.handoff_id == first["id"], Event.type == "handoff.fail_delivery"))
        assert "410" in ev.data["reason"]
        reroute = s.scalar(select(Event).where(Event.dispute_id == d["id"], Event.type == "dispute.reroute"))
        assert reroute.actor == "system:router" and "410" in reroute.data["reason"]
    wait_for(lambda: stub.deliveries(leads[1]["agency"]))
