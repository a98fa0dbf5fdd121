"""/readyz answers for the database and the broker (a real RabbitMQ, and one that is not there);
the demo's agencies acknowledge referrals and leave notices (撤回, 催办) alone."""

from __future__ import annotations

import dataclasses
import time

from router.api.app import create_app
from router.services import Services
from router.testing.demo import DemoAgencies, is_referral
from router.testing.stub_agency import Received
from tests.builders import act, lead_of, post_dispute, wait_for


def _ready(svc, broker_url):
    settings = dataclasses.replace(svc.settings, broker_url=broker_url)
    other = Services(dataclasses.replace(svc.ctx, settings=settings))
    return create_app(other).test_client().get("/readyz")


def test_readyz_checks_the_broker(svc):
    up = _ready(svc, "amqp://guest:guest@127.0.0.1:5672//")
    assert up.status_code == 200 and up.json == {"status": "ok", "database": True, "broker": True}
    t0 = time.monotonic()
    down = _ready(svc, "amqp://guest:guest@127.0.0.1:1//")
    assert time.monotonic() - t0 < 3
    assert down.status_code == 503 and down.json == {"status": "unavailable", "database": True, "broker": False}
    embedded = _ready(svc, "memory://")
    assert embedded.status_code == 200 and embedded.json["broker"] is True


def _received(payload, key):
    return Received("ZJ-X", {"Idempotency-Key": key}, payload, True, 200, 0.0)


def test_only_referrals_are_referrals():
    assert is_referral(_received({"kind": "mediation_referral", "handoff_id": "h1"}, "h1"))
    assert not is_referral(_received({"kind": "recall", "handoff_id": "h1"}, "outbox-7"))
    assert not is_referral(_received({"kind": "urge", "handoff_id": "h1"}, "outbox-8"))
    assert not is_referral(_received({"kind": "status", "work_order_no": "GD1"}, "outbox-9"))


def test_the_demo_acknowledges_a_referral_and_not_the_recall_that_follows(live, svc, background, clock):
    demo = DemoAgencies(svc, live.base, acknowledge=True, say=lambda _line: None)
    base = demo.start(0)
    svc.point_agencies_at(base + "/agencies/{code}/handoffs")
    try:
        d = post_dispute(live, svc)
        lead = lead_of(d)
        wait_for(lambda: lead["id"] in demo.acknowledged, what="the demo's 签收")
        assert demo.acknowledged == [lead["id"]]
        r = act(live, d["id"], action="reroute", reason="改派")
        assert r.status_code == 200, r.text
        new = lead_of(r.json())
        wait_for(lambda: new["id"] in demo.acknowledged and any(x.payload.get("kind") == "recall"
                                                               for x in demo.stub.received), what="the recall")
        time.sleep(0.5)  # a wrong 签收 of the recall would come right after it
        kinds = [x.payload.get("kind") for x in demo.stub.received]
        assert "recall" in kinds, kinds
        assert demo.acknowledged == [lead["id"], new["id"]]  # the recall of the first was not acknowledged
    finally:
        demo.stop()
