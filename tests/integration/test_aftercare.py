"""After the outcome (docs/domain.md §8): an unperformed agreement never sits in fulfilment (强制执行
for a confirmed one, 再次调解 or 引导诉讼 for any); a labour mediation without agreement after its 15
days offers arbitration unless declined; a dissatisfied follow-up starts 重办; follow-up staff and
clerks record visits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from router.domain.errors import StateConflict
from router.services import Actor
from router.services.queues import QueueFilter
from tests.builders import CLERK, SUPERVISOR, agreed, events_of, lead_of, move_past, register, report

VISITOR = Actor("user", "test-visitor", "follow_up")


def _past_fulfil_by(svc, clock) -> None:
    clock.advance(days=12)
    svc.run_due_timers()


def test_an_unperformed_agreement_goes_to_the_supervisors_not_left_in_fulfilment(svc, clock):
    d = agreed(svc, clock)
    _past_fulfil_by(svc, clock)
    view = svc.get_dispute(d["id"])
    assert view["state"] == "unfulfilled"
    ev = events_of(svc, d["id"], "dispute.fulfilment_overdue", data_only=True)[0]
    assert "apply_enforcement" not in ev["choices"] and "remediate" in ev["choices"]
    q = svc.queue(QueueFilter("unfulfilled"))
    assert [i["dispute_id"] for i in q["items"]] == [d["id"]] and q["counts"]["unfulfilled"] == 1
    with pytest.raises(StateConflict):  # not confirmed: no enforcement
        svc.act(d["id"], {"action": "apply_enforcement", "reason": "申请执行"}, SUPERVISOR)
    first = lead_of(view)
    again = svc.act(d["id"], {"action": "remediate", "reason": "对方表示愿意分期履行，再次调解"}, SUPERVISOR)
    second = lead_of(again)
    assert again["state"] == "handed_off" and second["agency"] == first["agency"] and second["designated"]
    assert second["id"] != first["id"]


def test_late_fulfilment_or_guidance_to_litigation_end_it(svc, clock):
    d = agreed(svc, clock)
    _past_fulfil_by(svc, clock)
    done = svc.act(d["id"], {"action": "record_fulfilment", "reason": "已补交"}, SUPERVISOR)
    assert done["state"] == "follow_up"
    d2 = agreed(svc, clock)
    _past_fulfil_by(svc, clock)
    closed = svc.act(d2["id"], {"action": "guide_to_litigation", "reason": "对方拒不履行"}, SUPERVISOR)
    assert closed["state"] == "closed" and closed["closure"]["code"] == "guided_to_litigation"
    day = clock.now.astimezone(svc.ctx.config.calendar.tz).date()
    k = {x["code"]: x for x in svc.kpi_report({"from_": day - timedelta(days=30), "to": day})["kpis"]}
    assert k["success_rate"]["numerator"] == 2 and k["success_rate"]["denominator"] == 2  # still resolved


def test_a_confirmed_agreement_goes_to_the_court_for_enforcement(svc, clock):
    d = agreed(svc, clock, confirm=True)
    court_code = d["outcome"]["confirmation"]["court"]
    _past_fulfil_by(svc, clock)
    assert "apply_enforcement" in events_of(svc, d["id"], "dispute.fulfilment_overdue", data_only=True)[0]["choices"]
    view = svc.act(d["id"], {"action": "apply_enforcement", "reason": "申请人申请强制执行"}, SUPERVISOR)
    assert view["state"] == "enforcing"
    enforce = next(h for h in view["handoffs"] if h["role"] == "enforce")
    assert enforce["agency"] == court_code and enforce["body_type"] == "court"
    report(svc, enforce, "returned", reason="申请材料不全", basis="民事诉讼法第243条")  # the court does not take it
    assert svc.get_dispute(d["id"])["state"] == "unfulfilled"
    view = svc.act(d["id"], {"action": "apply_enforcement", "reason": "补齐材料再次申请"}, SUPERVISOR)
    enforce = next(h for h in view["handoffs"] if h["role"] == "enforce" and h["state"] == "offered")
    report(svc, enforce, "acknowledged")
    report(svc, enforce, "outcome", outcome={"result": "agreement"}, note="执行完毕")
    after = svc.get_dispute(d["id"])
    assert after["state"] == "follow_up" and after["outcome"]["fulfilment"]["via"] == enforce["id"]


def test_labour_mediation_past_its_15_days_offers_arbitration_itself(svc, clock):
    d = register(svc, category="LABOUR")
    lead = lead_of(d)
    assert lead["body_type"] == "labour_mediation"
    report(svc, lead, "acknowledged")
    move_past(clock, lead_of(svc.get_dispute(d["id"]))["handle_due"])
    svc.run_due_timers()
    view = svc.get_dispute(d["id"])
    new = lead_of(view)
    assert new["body_type"] == "labour_arbitration" and new["state"] == "offered"
    assert next(h for h in view["handoffs"] if h["id"] == lead["id"])["state"] == "recalled"
    assert "十五日内未达成调解协议" in events_of(svc, d["id"], "dispute.labour_time_out", data_only=True)[0]["reason"]


def test_a_party_that_declines_arbitration_keeps_the_mediation(svc, clock):
    d = register(svc, category="LABOUR")
    lead = lead_of(d)
    report(svc, lead, "acknowledged")
    svc.act(d["id"], {"action": "decline_arbitration", "reason": "劳动者表示不申请仲裁，继续调解"}, SUPERVISOR)
    move_past(clock, lead_of(svc.get_dispute(d["id"]))["handle_due"])
    svc.run_due_timers()
    view = svc.get_dispute(d["id"])
    assert lead_of(view)["id"] == lead["id"] and view["state"] == "in_handling"
    assert events_of(svc, d["id"], "dispute.labour_time_out") == []
    with pytest.raises(StateConflict):  # not a labour mediation
        svc.act(register(svc)["id"], {"action": "decline_arbitration", "reason": "x"}, SUPERVISOR)


def test_a_dissatisfied_visit_starts_a_new_round_not_closure(svc, clock):
    d = agreed(svc, clock)
    svc.act(d["id"], {"action": "record_fulfilment", "reason": "已付清"}, SUPERVISOR)
    first = lead_of(svc.get_dispute(d["id"]))
    view = svc.record_follow_up(d["id"], {"satisfaction": "dissatisfied", "reason": "电话回访：赔偿款未到账"},
                                VISITOR)
    assert view["state"] == "handed_off" and view["closure"] is None
    again = lead_of(view)
    assert again["agency"] == first["agency"] and again["id"] != first["id"] and again["designated"]
    assert [e.type for e in events_of(svc, d["id"])][-3:] == ["dispute.redo", "handoff.offer", "dispute.hand_off"]
    day = clock.now.astimezone(svc.ctx.config.calendar.tz).date()
    k = {x["code"]: x for x in svc.kpi_report({"from_": day, "to": day})["kpis"]}
    assert (k["satisfaction_rate"]["numerator"], k["satisfaction_rate"]["denominator"]) == (0, 1)


def test_clerks_and_follow_up_staff_record_visits(svc, clock):
    d = agreed(svc, clock)
    svc.act(d["id"], {"action": "record_fulfilment", "reason": "已付清"}, SUPERVISOR)
    view = svc.record_follow_up(d["id"], {"satisfaction": "satisfied", "reason": "上门回访"}, CLERK)
    assert view["state"] == "closed" and view["closure"]["code"] == "followed_up"
    with pytest.raises(StateConflict):
        svc.record_follow_up(register(svc)["id"], {"satisfaction": "satisfied", "reason": "x"}, VISITOR)
