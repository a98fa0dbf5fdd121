"""The workflow tables and the engine: legal moves, illegal triggers, guards and effects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from router.domain.errors import StateConflict
from router.workflows.dispute import DISPUTE
from router.workflows.engine import fire
from router.workflows.handoff import HANDOFF

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_dispute_happy_path():
    state = "received"
    for trigger, dest in [("route", "routed"), ("hand_off", "handed_off"), ("start_handling", "in_handling"),
                          ("agree", "agreed"), ("request_confirmation", "confirming"),
                          ("start_fulfilment", "fulfilling"), ("fulfil", "follow_up"), ("close", "closed"),
                          ("archive", "archived")]:
        f = fire(DISPUTE, "d1", state, trigger)
        assert f.dest == dest
        assert f.events[0].type == f"dispute.{trigger}"
        assert f.events[0].data["from"] == state and f.events[0].data["to"] == dest
        state = dest


@pytest.mark.parametrize(("state", "trigger"), [
    ("received", "hand_off"), ("closed", "route"), ("archived", "reopen"), ("handed_off", "agree"),
    ("not_accepted", "route"),
])
def test_illegal_triggers_raise_and_name_the_state(state, trigger):
    with pytest.raises(StateConflict) as e:
        fire(DISPUTE, "d1", state, trigger)
    assert e.value.state == state
    assert "不允许" in e.value.message_zh


def test_unknown_trigger_and_state():
    with pytest.raises(StateConflict):
        fire(DISPUTE, "d1", "received", "teleport")
    with pytest.raises(StateConflict):
        fire(DISPUTE, "d1", "limbo", "route")


def test_closed_accepts_only_reopen_and_archive():
    assert DISPUTE.triggers_from("closed") == ["archive", "reopen"]


def test_offer_queues_delivery_and_starts_clocks():
    ack = NOW + timedelta(days=3)
    f = fire(HANDOFF, "h1", "new", "offer", {"body_type": "court", "agency": "C1", "ack_due": ack,
                                             "ack_due_rule": "court.ack",
                                             "return_due": ack, "return_due_rule": "court.ret"})
    assert f.dest == "offered"
    assert [(m.kind, m.routing_key, m.payload) for m in f.outbox] == [
        ("handoff.offered", "court", {"handoff_id": "h1", "agency": "C1"})]
    assert [(t.kind, t.due_at, t.rule) for t in f.timers] == [
        ("ack_due", ack, "court.ack"), ("return_due", ack, "court.ret")]


def test_return_refused_when_designated_or_late():
    ok = fire(HANDOFF, "h1", "delivered", "return_", {"designated": False, "return_due": NOW, "now": NOW})
    assert ok.dest == "returned"
    with pytest.raises(StateConflict):
        fire(HANDOFF, "h1", "delivered", "return_", {"designated": True, "return_due": NOW, "now": NOW})
    with pytest.raises(StateConflict):
        fire(HANDOFF, "h1", "delivered", "return_",
             {"designated": False, "return_due": NOW, "now": NOW + timedelta(seconds=1)})


def test_handoff_terminal_states_accept_nothing():
    for state in ("closed", "returned", "expired", "undeliverable", "recalled"):
        assert HANDOFF.triggers_from(state) == []
    assert HANDOFF.triggers_from("completed") == ["close"]  # the body closes its own file after the outcome


def test_one_machine_per_workflow_is_reused():
    m = DISPUTE.machine
    fire(DISPUTE, "a", "received", "route")
    fire(DISPUTE, "b", "received", "route")
    assert DISPUTE.machine is m and not m.models
