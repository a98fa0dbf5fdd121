"""The SLA clock's maths: warning points, excluded intervals, extensions and the escalation ladder,
across Spring Festival and National Day 2026 with their make-up working days (调休)."""

from __future__ import annotations

from datetime import datetime

import pytest

from router.domain.bodies import Bodies
from router.domain.calendar import Period, Unit
from router.domain.errors import ConfigError
from router.domain.ladder import ladder
from tests.builders import CAL, ROOT, at
from tests.builders import end_of as end

STEPS = {"warn_before": Period.parse("1w"), "urge_after": Period.parse("1c"), "escalate_after": Period.parse("5w")}


# --------------------------------------------------------------------------- warning points
def test_one_working_day_before_steps_back_over_spring_festival_to_a_make_up_day():
    # 24 Feb 2026 is the first working day after the festival; Saturday 14 Feb is a make-up working day
    assert CAL.before(end(2026, 2, 24), Period.parse("1w")) == end(2026, 2, 14)
    assert CAL.before(end(2026, 2, 24), Period.parse("2w")) == end(2026, 2, 13)


def test_working_days_before_across_national_day_and_its_make_up_saturday():
    assert CAL.before(end(2026, 10, 8), Period.parse("1w")) == end(2026, 9, 30)
    assert CAL.before(end(2026, 10, 12), Period.parse("1w")) == end(2026, 10, 10)  # Saturday, 调休上班
    assert CAL.before(end(2026, 10, 12), Period.parse("2w")) == end(2026, 10, 9)


def test_hours_and_calendar_days_before():
    assert CAL.before(at(2026, 11, 24, 1, 0), Period.parse("2h")) == at(2026, 11, 23, 23, 0)  # across midnight
    assert CAL.before(end(2026, 10, 8), Period.parse("3c")) == end(2026, 10, 5)
    assert CAL.before(at(2026, 11, 23, 10, 0), Period.parse("30s")) == at(2026, 11, 23, 9, 59).replace(second=30)


def test_before_needs_an_aware_instant():
    with pytest.raises(ValueError):
        CAL.before(datetime(2026, 11, 23, 10), Period.parse("1w"))


# --------------------------------------------------------------------------- excluded intervals, extensions
def test_an_excluded_interval_is_measured_in_the_deadlines_own_unit():
    a, b = at(2026, 2, 13), at(2026, 2, 25, 9)
    assert CAL.span(a, b, Unit.WORKING) == 3     # 14 (make-up Saturday), 24, 25; the festival does not count
    assert CAL.span(a, b, Unit.CALENDAR) == 12
    assert CAL.span(a, b, Unit.HOURS) == 287
    assert CAL.span(b, a, Unit.WORKING) == 0     # an interval that ends before it starts is empty


def test_moving_a_working_day_deadline_by_an_excluded_interval_skips_the_festival():
    due = end(2026, 2, 13)                        # a medical handling deadline on the Friday before the festival
    excluded = CAL.span(at(2026, 2, 10), at(2026, 2, 12), Unit.WORKING)
    assert excluded == 2
    assert CAL.deadline(due, Period(excluded, Unit.WORKING)) == end(2026, 2, 24)  # 14 Feb, then 24 Feb


def test_an_extension_runs_from_the_old_deadline_and_rests_on_a_working_day():
    # 30c handling ending 1 Oct 2026 (a holiday) has already run to 8 Oct; +15c from there ends 23 Oct
    due = CAL.deadline(at(2026, 9, 1), Period.parse("30c"))
    assert due == end(2026, 10, 8)
    assert CAL.deadline(due, Period.parse("15c")) == end(2026, 10, 23)


# --------------------------------------------------------------------------- the ladder
def test_the_handling_ladder_warns_urges_and_escalates_on_working_days():
    start, due = at(2026, 9, 1), end(2026, 10, 8)
    rungs = {r.kind: r.due for r in ladder(CAL, STEPS, "handle", start, due, "rule")}
    assert rungs == {"handle_warn": end(2026, 9, 30), "handle_due": due, "handle_urge": end(2026, 10, 9),
                     "handle_escalate": end(2026, 10, 14)}  # 9, 10 (Saturday, 调休), 12, 13, 14
    assert all("rule" in r.rule for r in ladder(CAL, STEPS, "handle", start, due, "rule"))


def test_the_acknowledgement_ladder_warns_then_expires_and_skips_a_warning_it_cannot_give():
    rungs = ladder(CAL, STEPS, "ack", at(2026, 11, 23), end(2026, 11, 26), "people_mediation.acknowledge=3w")
    assert [r.kind for r in rungs] == ["ack_warn", "ack_due"] and rungs[0].due == end(2026, 11, 25)
    short = ladder(CAL, STEPS, "ack", at(2026, 11, 23), at(2026, 11, 24), "police.acknowledge=24h")
    assert [r.kind for r in short] == ["ack_due"]  # a 24 h window is shorter than the one-working-day band
    secs = {"warn_before": Period.parse("2s"), "urge_after": Period.parse("2s"), "escalate_after": Period.parse("4s")}
    t0 = at(2026, 11, 23)
    fast = ladder(CAL, secs, "handle", t0, CAL.deadline(t0, Period.parse("10s")), "demo")
    assert [(r.kind, (r.due - t0).total_seconds()) for r in fast] == [
        ("handle_warn", 8), ("handle_due", 10), ("handle_urge", 12), ("handle_escalate", 14)]


def test_the_ladder_is_configurable_per_body_type():

    import yaml

    data = yaml.safe_load((ROOT / "config" / "bodies.yaml").read_text("utf-8"))
    data["body_types"]["police"]["escalation"] = {"warn_before": "2h", "escalate_after": "1w"}
    bodies = Bodies.from_mapping(data)
    police = bodies.ladder("police")
    assert str(police["warn_before"]) == "2h" and str(police["escalate_after"]) == "1w"
    assert str(police["urge_after"]) == "1c"                              # from the defaults
    assert str(bodies.ladder("people_mediation")["warn_before"]) == "1w"
    data["body_types"]["police"]["escalation"] = {"warn_befor": "2h"}
    with pytest.raises(ConfigError) as e:
        Bodies.from_mapping(data)
    assert e.value.key == "body_types.police.escalation.warn_befor"
