"""PostgreSQL races found in review (CI runs them in its PostgreSQL pass). Real interleavings: the
first transaction is paused *while it holds the dispute lock*; the second runs in a thread until
it blocks on that lock; then the first commits."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from router.adapters.base import SendResult
from router.services import delivery, follow
from router.store.models import Delivery, Event, Handoff
from tests.e2e.test_intake_http import body, county


def _lead(d):
    return [h for h in d["handoffs"] if h["role"] == "lead"][-1]


def test_delivery_complete_overwrites_a_concurrent_acknowledgement(svc, live, monkeypatch):
    if svc.settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = _lead(d)
    with svc.ctx.store.read() as s:
        did = s.scalar(select(Delivery.id).where(Delivery.handoff_id == lead["id"]))
    job = delivery.claim(svc.ctx, did, "w1")
    assert job is not None

    holding, go = threading.Event(), threading.Event()
    orig = follow.acknowledge

    def slow_ack(*a, **kw):
        orig(*a, **kw)
        holding.set()
        go.wait(10)  # still inside the transaction, dispute row locked

    monkeypatch.setattr(follow, "acknowledge", slow_ack)
    out = {}
    ack = threading.Thread(target=lambda: out.setdefault("ack", svc.agency_event(
        lead["agency"], lead["id"], {"event_id": "e1", "type": "acknowledged"})))
    ack.start()
    assert holding.wait(10)
    done = threading.Thread(target=lambda: out.setdefault("complete", delivery.complete(
        svc.ctx, job, SendResult("delivered", 200, None, None, 0.01))))
    done.start()
    time.sleep(1.0)  # complete() has read the handoff and now waits for the dispute lock
    go.set()
    ack.join(10)
    done.join(10)
    with svc.ctx.store.read() as s:
        h = s.get(Handoff, lead["id"])
        evs = s.scalars(select(Event.type).where(Event.handoff_id == lead["id"]).order_by(Event.stream_seq)).all()
        print("\nack answer state:", out["ack"]["handoff"]["state"], "| final handoff state:", h.state,
              "| acknowledged_at:", h.acknowledged_at, "\nevents:", evs)
    assert h.state == "acknowledged"


def test_same_event_id_sent_twice_concurrently_gets_409(svc, live, monkeypatch):
    if svc.settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = _lead(d)
    holding, go = threading.Event(), threading.Event()
    orig = follow.acknowledge
    calls = []

    def slow_ack(*a, **kw):
        orig(*a, **kw)
        calls.append(1)
        if len(calls) == 1:
            holding.set()
            go.wait(10)

    monkeypatch.setattr(follow, "acknowledge", slow_ack)
    out = {}

    def send(name):
        try:
            out[name] = svc.agency_event(lead["agency"], lead["id"], {"event_id": "same", "type": "acknowledged"})
        except Exception as e:  # noqa: BLE001
            out[name] = e

    t1 = threading.Thread(target=send, args=("first",))
    t1.start()
    assert holding.wait(10)
    t2 = threading.Thread(target=send, args=("retry",))
    t2.start()
    time.sleep(1.0)
    go.set()
    t1.join(10)
    t2.join(10)
    print("\nfirst:", type(out["first"]).__name__, "| retry:", repr(out["retry"])[:160])
    assert isinstance(out["retry"], dict), "a retry of the same event_id must get the stored answer"


def test_final_delivery_failure_racing_ack_expiry_leaves_two_open_leads(svc, live, clock, monkeypatch):
    if svc.settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = _lead(d)
    with svc.ctx.store.read() as s:
        did = s.scalar(select(Delivery.id).where(Delivery.handoff_id == lead["id"]))
    job = delivery.claim(svc.ctx, did, "w1")
    from datetime import datetime, timedelta
    clock.now = datetime.fromisoformat(lead["ack_due"]) + timedelta(seconds=1)
    holding, go = threading.Event(), threading.Event()
    orig = delivery.reroute_after_failure
    n = []

    def slow(*a, **kw):
        orig(*a, **kw)
        n.append(1)
        if len(n) == 1:  # the scheduler's expiry: paused holding the dispute lock
            holding.set()
            go.wait(10)

    monkeypatch.setattr(delivery, "reroute_after_failure", slow)
    t1 = threading.Thread(target=svc.run_due_timers)
    t1.start()
    assert holding.wait(10)
    t2 = threading.Thread(target=lambda: delivery.complete(svc.ctx, job, SendResult("final", 410, "gone", None, .01)))
    t2.start()
    time.sleep(1.0)
    go.set()
    t1.join(10)
    t2.join(10)
    with svc.ctx.store.read() as s:
        leads = [(h.agency_code, h.state) for h in s.scalars(select(Handoff).where(
            Handoff.dispute_id == d["id"], Handoff.role == "lead").order_by(Handoff.placement))]
    print("\nleads:", leads)
    assert sum(st in ("offered", "delivered", "acknowledged", "in_progress") for _, st in leads) <= 1
