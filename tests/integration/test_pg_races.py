"""PostgreSQL races found in review (CI runs them in its PostgreSQL pass). Real interleavings: the
first transaction is paused *while it holds the dispute lock*; the second runs in a thread until it
blocks on that lock; then the first commits."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from router.adapters.base import SendResult
from router.services import delivery, handling, not_taken, supervision
from router.services.context import Actor
from router.store.models import Delivery, Event, Handoff
from tests.builders import body, county, lead_of, move_past

SUPERVISOR = Actor("user", "race-supervisor", "supervisor")


@pytest.fixture(autouse=True)
def _postgres_only(svc):
    if svc.settings.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite serialises writers")


def _claimed(svc, live):
    """A new dispute whose lead's delivery a worker (w1) has leased and is sending."""
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = lead_of(d)
    with svc.ctx.store.read() as s:
        did = s.scalar(select(Delivery.id).where(Delivery.handoff_id == lead["id"]))
    job = delivery.claim(svc.ctx, did, "w1")
    assert job is not None
    return d, lead, job


def _race(monkeypatch, module, name, first, second):
    """Run `first` until its first call of module.name has finished inside its transaction, hold it
    there, start `second` (which then waits on the lock), and let both finish."""
    holding, go = threading.Event(), threading.Event()
    orig, calls = getattr(module, name), []

    def paused(*a, **kw):
        result = orig(*a, **kw)
        calls.append(1)
        if len(calls) == 1:
            holding.set()
            go.wait(10)
        return result

    monkeypatch.setattr(module, name, paused)
    t1 = threading.Thread(target=first)
    t1.start()
    assert holding.wait(10)
    t2 = threading.Thread(target=second)
    t2.start()
    time.sleep(1.0)  # the second has read what it reads and now waits for the dispute lock
    go.set()
    t1.join(10)
    t2.join(10)


def test_a_delivery_recorded_after_a_concurrent_acknowledgement_keeps_it(svc, live, monkeypatch):
    _, lead, job = _claimed(svc, live)
    _race(monkeypatch, handling, "acknowledge",
          lambda: svc.agency_event(lead["agency"], lead["id"], {"event_id": "e1", "type": "acknowledged"}),
          lambda: delivery.complete(svc.ctx, job, SendResult("delivered", 200, None, None, 0.01)))
    with svc.ctx.store.read() as s:
        assert s.get(Handoff, lead["id"]).state == "acknowledged"


def test_the_same_event_id_sent_twice_concurrently_gets_the_first_answer(svc, live, monkeypatch):
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = lead_of(d)
    out = {}

    def send(name):
        try:
            out[name] = svc.agency_event(lead["agency"], lead["id"], {"event_id": "same", "type": "acknowledged"})
        except Exception as e:  # noqa: BLE001 - the assertion below says what came back
            out[name] = e

    _race(monkeypatch, handling, "acknowledge", lambda: send("first"), lambda: send("retry"))
    assert isinstance(out["retry"], dict), "a retry of the same event_id must get the stored answer"


def test_a_final_delivery_failure_racing_the_ack_expiry_leaves_one_open_lead(svc, live, clock, monkeypatch):
    d, lead, job = _claimed(svc, live)
    move_past(clock, lead["ack_due"])
    _race(monkeypatch, not_taken, "replace_lead", svc.run_due_timers,
          lambda: delivery.complete(svc.ctx, job, SendResult("final", 410, "gone", None, .01)))
    with svc.ctx.store.read() as s:
        leads = [h.state for h in s.scalars(select(Handoff).where(
            Handoff.dispute_id == d["id"], Handoff.role == "lead").order_by(Handoff.placement))]
    assert sum(st in ("offered", "delivered", "acknowledged", "in_progress") for st in leads) <= 1, leads


def test_a_pull_that_waited_on_a_recall_does_not_reveal_the_parties(svc, live, monkeypatch):
    """get_handoff reads the handoff before it locks the dispute and never reads it again: a pull
    that waited for a concurrent recall still gets the full referral (names, ID numbers, phones)
    of a handoff that is no longer the agency's, and records a pii.revealed on the audit chain."""
    d, lead, job = _claimed(svc, live)
    delivery.complete(svc.ctx, job, SendResult("delivered", 200, None, None, 0.01))
    out = {}

    def pull():
        out["answer"] = svc.agency_handoff(lead["agency"], lead["id"])

    _race(monkeypatch, module=supervision, name="recall",
          first=lambda: svc.act(d["id"], {"action": "reroute", "reason": "改派"}, SUPERVISOR), second=pull)
    answer = out["answer"]
    with svc.ctx.store.read() as s:
        reveals = list(s.scalars(select(Event).where(Event.dispute_id == d["id"], Event.type == "pii.revealed")))
        recalled_seq = s.scalar(select(Event.stream_seq).where(Event.handoff_id == lead["id"],
                                                               Event.type == "handoff.recall"))
    late = [e for e in reveals if e.stream_seq > recalled_seq]
    assert answer["state"] == "recalled" and answer.get("referral") is None, (answer["state"],
                                                                                bool(answer.get("referral")))
    assert not late, "pii.revealed recorded after the handoff was recalled"
