"""The SLA clock with a moved clock: the ladder's rungs fire through the scheduler, reach the agency
signed, show in the overdue list and the timeline; extensions and excluded intervals move deadlines."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import jsonschema

from router.store.models import Handoff
from tests.builders import CONTRACTS, act, events_of, lead_of, move_past, post_dispute, view_of, wait_for


def test_silence_is_warned_then_expired_and_rerouted(live, svc, clock):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    assert lead["sla"] == "on_time"
    with svc.ctx.store.read() as s:
        warn = s.get(Handoff, lead["id"]).ack_warn_at
    clock.now = (warn if warn.tzinfo else warn.replace(tzinfo=clock.now.tzinfo)) + timedelta(seconds=1)
    assert svc.run_due_timers() == 1
    assert lead_of(view_of(live, d))["sla"] == "warned"
    assert events_of(svc, d["id"], "handoff.warned", data_only=True)[0]["deadline"] == "ack_due"
    move_past(clock, lead["ack_due"])
    assert svc.run_due_timers() >= 1
    after = view_of(live, d)
    first = next(h for h in after["handoffs"] if h["id"] == lead["id"])
    assert first["state"] == "expired" and first["sla"] == "breached"
    assert lead_of(after)["agency"] != lead["agency"] and lead_of(after)["state"] == "offered"


def test_overdue_handling_is_urged_at_the_agency_signed_then_escalated(live, svc, clock, stub, background,
                                                                      agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    assert agencies(lead["agency"]).event(lead["id"], "acknowledged").status_code == 200
    handoff = lead_of(view_of(live, d))
    move_past(clock, handoff["handle_due"])
    svc.run_due_timers()
    assert lead_of(view_of(live, d))["sla"] == "overdue"
    assert events_of(svc, d["id"], "handoff.overdue")
    overdue = live.get("/api/v1/disputes?overdue=true").json()["items"]
    assert d["id"] in [x["id"] for x in overdue]
    clock.advance(days=2)
    svc.run_due_timers()
    urges = wait_for(lambda: [r for r in stub.deliveries(lead["agency"]) if r.payload.get("kind") == "urge"])
    assert urges[0].verified and urges[0].payload["handoff_id"] == lead["id"]
    assert urges[0].payload["deadline"] == "handle_due"
    schema = json.loads((CONTRACTS / "urge.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(urges[0].payload, schema)
    clock.advance(days=10)
    svc.run_due_timers()
    after = view_of(live, d)
    assert lead_of(after)["escalated_at"] and events_of(svc, d["id"], "handoff.escalated")
    wait_for(lambda: [r for r in stub.deliveries(lead["agency"]) if r.payload.get("kind") == "escalation"])
    listed = next(x for x in live.get("/api/v1/disputes?overdue=true").json()["items"] if x["id"] == d["id"])
    assert lead_of(listed)["escalated_at"] and lead_of(listed)["sla"] == "overdue"
    spans = live.get(f"/api/v1/disputes/{d['id']}/timeline").json()["spans"]
    assert spans[0]["sla"] == "overdue" and spans[0]["urged"] == 1


def test_a_finished_handoff_stops_its_ladder(live, svc, clock, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    assert a.event(lead["id"], "outcome", outcome={"result": "withdrawn"}).status_code == 200
    clock.advance(days=90)
    svc.run_due_timers()
    assert not events_of(svc, d["id"], "handoff.urged") and not events_of(svc, d["id"], "handoff.overdue")


def test_the_follow_up_timer_fires_thirty_days_after_the_fulfilment_date(live, svc, clock, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    agreement = {"terms": "赔偿", "amount": "100.00", "fulfil_by": "2026-11-30"}
    assert a.event(lead["id"], "outcome", outcome={"result": "agreement", "agreement": agreement}).status_code == 200
    clock.advance(days=3)
    r = act(live, d["id"], action="record_fulfilment", reason="已付款", fulfilled_on="2026-11-25")
    assert r.status_code == 200 and r.json()["state"] == "follow_up"
    tz = svc.ctx.config.calendar.tz
    clock.now = datetime.combine(datetime(2026, 12, 25).date(), time(12), tz)  # 30 days on: not yet due
    svc.run_due_timers()
    assert not events_of(svc, d["id"], "dispute.follow_up_due")
    clock.now = datetime.combine(datetime(2026, 12, 26).date(), time(0, 0, 1), tz)
    svc.run_due_timers()
    due = events_of(svc, d["id"], "dispute.follow_up_due", data_only=True)
    assert len(due) == 1 and datetime.fromisoformat(due[0]["due"]) == datetime(2026, 12, 25, 23, 59, 59, tzinfo=tz)
    svc.run_due_timers()
    assert len(events_of(svc, d["id"], "dispute.follow_up_due")) == 1  # fired once


def test_extension_is_capped_and_an_excluded_interval_moves_the_deadline(live, svc, clock, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    due0 = datetime.fromisoformat(lead_of(view_of(live, d))["handle_due"])
    extend = {"action": "extend", "reason": "双方同意延长调解期限"}
    r = act(live, d["id"], **extend, period="40c")
    assert r.status_code == 422 and "period" in r.json()["error"]["fields"]  # people_mediation: up to 30c
    r = act(live, d["id"], **extend, period="10c")
    assert r.status_code == 200, r.text
    due1 = datetime.fromisoformat(lead_of(r.json())["handle_due"])
    assert due1 > due0 + timedelta(days=9)
    r = a.event(lead["id"], "progress", extension={"period": "25c", "reason": "再延"})
    assert r.status_code == 422  # 10 + 25 > 30
    assert lead_of(view_of(live, d))["handle_due"] == due1.isoformat()  # nothing changed
    # an excluded interval of 5 calendar days (e.g. an appraisal) moves it by 5 days
    assert a.event(lead["id"], "progress", suspension={"action": "start", "reason": "伤情鉴定"}).status_code == 200
    assert lead_of(view_of(live, d))["clock_stopped"] is True
    clock.advance(days=5)
    assert a.event(lead["id"], "progress", suspension={"action": "end", "reason": "鉴定完成"}).status_code == 200
    after = lead_of(view_of(live, d))
    assert after["clock_stopped"] is False
    assert datetime.fromisoformat(after["handle_due"]) >= due1 + timedelta(days=5)
    moved = events_of(svc, d["id"], "handoff.deadline_moved", data_only=True)
    assert [m["why"] for m in moved] == ["extension", "excluded_interval"] and moved[1]["excluded"] == "5 calendar"


def test_deadlines_round_trip_as_instants_and_overdue_flips_exactly_at_the_deadline(live, svc, clock):
    """Regression: SQLite kept a Beijing deadline's wall-clock time and lost its offset (8 hours off)."""
    d = post_dispute(live, svc)
    lead = lead_of(d)
    due = datetime.fromisoformat(lead["ack_due"])
    with svc.ctx.store.read() as s:
        stored = s.get(Handoff, lead["id"]).ack_due
    assert stored == due and stored.utcoffset() is not None
    clock.now = due - timedelta(minutes=1)
    assert d["id"] not in [x["id"] for x in live.get("/api/v1/disputes?overdue=true").json()["items"]]
    assert lead_of(view_of(live, d))["sla"] == "warned"
    clock.now = due + timedelta(minutes=1)
    assert d["id"] in [x["id"] for x in live.get("/api/v1/disputes?overdue=true").json()["items"]]
    assert lead_of(view_of(live, d))["sla"] == "overdue"
