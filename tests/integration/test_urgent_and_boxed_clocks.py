"""Urgent 签收 clocks and time-boxed tiers (docs/domain.md §5-6): a 12345 order marked life safety is
to be acknowledged in 15 minutes (utilities 30), its warning minutes before; the police on a domestic
violence or violence-threat dispute within 24 hours, warned 4 hours before; where a locality boxes
its tiers (四级七天), a lead without an outcome when its box runs out is lifted (上交) a tier."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from router.domain.calendar import Period
from router.domain.model import Tier
from router.services import build_services
from router.store.models import Timer
from tests.builders import CLERK, body, command, county, events_of, lead_of, register


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def test_a_life_safety_order_is_to_be_acknowledged_in_15_minutes(svc, clock):
    d = register(svc, urgency="life_safety")
    lead = lead_of(d)
    assert d["urgency"] == "life_safety"
    assert _at(lead["ack_due"]) - clock.now == timedelta(minutes=15)
    with svc.ctx.store.read() as s:
        warn = s.query(Timer).filter(Timer.handoff_id == lead["id"], Timer.kind == "ack_warn").one()
    assert warn.due_at == _at(lead["ack_due"]) - timedelta(minutes=5) and "urgent.life_safety" in warn.rule
    clock.advance(minutes=16)
    svc.run_due_timers()  # silence counts as a refusal: the next body gets it, again on 15 minutes
    view = svc.get_dispute(d["id"])
    nxt = lead_of(view)
    assert nxt["id"] != lead["id"] and _at(nxt["ack_due"]) - clock.now == timedelta(minutes=15)


def test_a_utilities_order_gets_30_minutes_and_an_ordinary_one_days(svc, clock):
    d = register(svc, urgency="utilities")
    assert _at(lead_of(d)["ack_due"]) - clock.now == timedelta(minutes=30)
    plain = register(svc)
    assert _at(lead_of(plain)["ack_due"]) - clock.now > timedelta(days=1)
    bad = body(county(svc)["v"], urgency="soon")
    try:
        command(bad)
        raise AssertionError("an unknown urgency was accepted")
    except Exception as e:  # marshmallow's ValidationError names the field
        assert "urgency" in str(e)


def test_police_on_a_domestic_violence_dispute_are_warned_hours_before_their_24_hours(svc, clock):
    d = register(svc, risk_flags=["domestic_violence"])
    police = next(h for h in d["handoffs"] if h["body_type"] == "police")
    assert _at(police["ack_due"]) - clock.now == timedelta(hours=24)
    with svc.ctx.store.read() as s:
        warn = s.query(Timer).filter(Timer.handoff_id == police["id"], Timer.kind == "ack_warn").one()
    assert _at(police["ack_due"]) - warn.due_at == timedelta(hours=4)


def _boxed(settings, engine, clock):
    boxed = replace(settings)
    boxes = {Tier.VILLAGE: Period.parse("3c"), Tier.TOWN: Period.parse("3c"), Tier.DISTRICT: Period.parse("7c")}
    boxed.__dict__["domain"] = replace(settings.domain, bodies=replace(settings.domain.bodies, time_boxes=boxes))
    return build_services(boxed, engine=engine, clock=clock)


def test_a_village_that_solves_nothing_in_its_box_lifts_the_dispute_to_the_town(svc, settings, engine, clock):
    boxed = _boxed(settings, engine, clock)
    d = boxed.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    first = lead_of(d)
    assert boxed.ctx.registry().by_code[first["agency"]].tier == "village"
    boxed.agency_event(first["agency"], first["id"], {"event_id": uuid.uuid4().hex, "type": "acknowledged"})
    clock.advance(days=4)
    boxed.run_due_timers()
    view = boxed.get_dispute(d["id"])
    town = lead_of(view)
    assert town["id"] != first["id"] and boxed.ctx.registry().by_code[town["agency"]].tier == "town"
    assert view["tier"] == "town" and next(h for h in view["handoffs"] if h["id"] == first["id"])["state"] == "recalled"
    lifted = [e for e in events_of(svc, d["id"], "dispute.reroute", data_only=True) if e.get("action") == "lift"]
    assert lifted and lifted[0]["from_tier"] == "village" and "上交" in lifted[0]["reason"]


def test_an_outcome_within_the_box_stops_it(svc, settings, engine, clock):
    boxed = _boxed(settings, engine, clock)
    d = boxed.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    lead = lead_of(d)
    boxed.agency_event(lead["agency"], lead["id"], {"event_id": uuid.uuid4().hex, "type": "outcome",
                                                   "outcome": {"result": "agreement", "agreement": {"terms": "和解"}}})
    clock.advance(days=4)
    boxed.run_due_timers()
    assert boxed.get_dispute(d["id"])["state"] == "fulfilling"
    assert not [e for e in events_of(svc, d["id"], "dispute.reroute", data_only=True) if e.get("action") == "lift"]


def test_no_boxes_configured_nothing_is_lifted(svc, clock):
    assert svc.ctx.config.bodies.time_boxes == {}
    d = register(svc)
    clock.advance(days=4)
    svc.run_due_timers()
    assert not [e for e in events_of(svc, d["id"], "dispute.reroute", data_only=True) if e.get("action") == "lift"]
