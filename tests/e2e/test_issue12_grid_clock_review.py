"""Found by the review of the sender's deadline and the grid role (issue 12): each test failed before
its fix; its docstring says what was wrong and why it matters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.builders import body, county, events_of, lead_of, post_dispute
from tests.e2e.web_client import PASSWORD, csrf_of, place, sign_in


def _agency_of(svc, body_type: str) -> str:
    centre = svc.ctx.config.divisions.centre.code[:6]
    codes = sorted(c for c, a in svc.ctx.registry().by_code.items() if str(a.body_type) == body_type and a.active)
    return next((c for c in codes if centre in c), codes[0])


def _court_referral(svc, agencies, no: str, days: int) -> dict[str, Any]:
    b = body(county(svc)["v"], "CONTRACT")
    b.pop("source"), b.pop("source_ref")
    r = agencies(_agency_of(svc, "court")).request("POST", "/api/v1/intake/referral", {
        **b, "referral_no": no, "details": {"case_no": no, "mediation_days": days}})
    assert r.status_code == 201, r.text
    return r.json()


# ------------------------------------------------------------------ ceb0ac1: the outer deadline
def test_outer_due_does_not_send_a_second_duban_to_a_lead_already_escalated(live, svc, agencies, clock):
    d = _court_referral(svc, agencies, "(2026)浙0681民诉前调901号", 45)
    lead = lead_of(d)
    agencies(lead["agency"]).event(lead["id"], "acknowledged")
    due = datetime.fromisoformat(d["referral"]["outer_due"])
    while clock.now < due + timedelta(minutes=1):
        clock.now = min(clock.now + timedelta(hours=12), due + timedelta(minutes=1))
        svc.run_due_timers()
    escalated = events_of(svc, d["id"], "handoff.escalated", data_only=True)
    assert any("转入单位的期限" not in e["reason"] for e in escalated), "handle_escalate never fired first"
    assert len(escalated) == 1, [e["reason"] for e in escalated]  # one 督办 of the same lead, not two


def test_outer_deadline_is_moot_once_the_dispute_reached_agreement(live, svc, agencies, clock):
    d = _court_referral(svc, agencies, "(2026)浙0681民诉前调902号", 15)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    a.event(lead["id"], "acknowledged")
    a.event(lead["id"], "outcome", outcome={"result": "agreement", "agreement": {"terms": "分期付款"}})
    state = live.get(f"/api/v1/disputes/{d['id']}").json()["state"]
    due = datetime.fromisoformat(d["referral"]["outer_due"])
    clock.now = due + timedelta(minutes=1)
    svc.run_due_timers()
    # the court's mediation period was met (agreement reached in time): nothing has "passed"
    assert not events_of(svc, d["id"], "dispute.outer_deadline_passed"), state


# ------------------------------------------------------------------ 75f44d6: the grid role
def _grid_api(live, svc, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {svc.add_user(name, 'grid')}"}


def test_a_grid_worker_cannot_decide_not_accepted_over_the_api(live, svc):
    grid = _grid_api(live, svc, "grid-probe-na")
    b = body(county(svc)["v"], disposition={"type": "not_accepted", "reason_code": "in_litigation",
                                            "reason": "已向法院起诉"})
    r = live.post("/api/v1/disputes", b, role=None, headers=grid)
    assert not (r.status_code == 201 and r.json()["state"] == "not_accepted"), r.text


def test_a_grid_worker_cannot_read_any_dispute_over_the_api(live, svc):
    other = post_dispute(live, svc)  # registered by a clerk
    grid = _grid_api(live, svc, "grid-probe-read")
    assert live.get(f"/api/v1/disputes/{other['id']}", role=None, headers=grid).status_code == 403


def _grid_client(svc, web, name: str):
    svc.add_user(name, "grid", PASSWORD)
    c = web.test_client()
    assert sign_in(c, name).status_code == 303
    return c


def _grid_form(svc, token: str, **over: str) -> dict[str, str]:
    data = {"csrf_token": token, "submission": "probe-" + over.pop("submission", "x"), "category": "NEIGHBOUR",
            "summary": "两户因排水沟堵塞争吵", **place(svc),
            "parties-0-role": "applicant", "parties-0-name": "赵六", "parties-0-phone": "13712345670",
            "parties-0-consent": "1", "parties-1-role": "respondent", "parties-1-name": "钱七",
            "parties-1-consent": "1"}
    data.update(over)
    return data


def test_the_grid_page_cannot_decide_not_accepted(svc, web):
    c = _grid_client(svc, web, "grid-probe-page-na")
    token = csrf_of(c.get("/grid").text)
    r = c.post("/grid", data=_grid_form(svc, token, submission="na", **{
        "disposition-type": "not_accepted", "disposition-reason_code": "in_litigation",
        "disposition-reason": "已向法院起诉"}))
    if r.status_code == 303:
        d = svc.get_dispute(r.headers["Location"].rsplit("/", 1)[1])
        assert d["state"] != "not_accepted", "a grid worker decided 不予受理"


def test_the_grid_done_page_does_not_show_another_workers_dispute(live, svc, web):
    other = post_dispute(live, svc)  # registered by a clerk at the window
    c = _grid_client(svc, web, "grid-probe-done")
    r = c.get(f"/grid/done/{other['id']}")
    assert r.status_code in (403, 404), r.status_code
