"""Urgent clocks over real HTTP: a signed 12345 life-safety work order's lead has 15 minutes to 签收;
the window's 紧急程度 select does the same for an order keyed in by a clerk."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.builders import body, county
from tests.e2e.web_client import intake_form, register_on_web, window_token


def test_a_life_safety_work_order_over_http(live, svc, agencies, clock):
    code = next(c for c, a in svc.ctx.registry().by_code.items() if str(a.body_type) == "hotline_12345")
    order = body(county(svc)["v"], summary="燃气泄漏引发邻里冲突", urgency="life_safety")
    order.pop("source"), order.pop("source_ref")
    order["work_order_no"] = "GD-URGENT-1"
    r = agencies(code).work_order(order)
    assert r.status_code == 201, r.text
    lead = next(h for h in r.json()["handoffs"] if h["role"] == "lead")
    assert datetime.fromisoformat(lead["ack_due"]) - clock.now == timedelta(minutes=15)
    bad = {**order, "work_order_no": "GD-URGENT-2", "urgency": "asap"}
    assert agencies(code).work_order(bad).status_code == 422


def test_the_window_marks_an_order_urgent(clerk, svc, clock):
    assert 'for="f-urgency"' in clerk.get("/window").text
    dispute_id, _ = register_on_web(clerk, svc, urgency="utilities")
    d = svc.get_dispute(dispute_id)
    lead = next(h for h in d["handoffs"] if h["role"] == "lead")
    assert d["urgency"] == "utilities" and datetime.fromisoformat(lead["ack_due"]) - clock.now == timedelta(minutes=30)
    data = intake_form(svc, window_token(clerk), urgency="never")
    assert clerk.post("/window", data=data).status_code == 422
