"""After the outcome over real HTTP and on the pages: the follow-up role's API and page, the
supervisors' choices for an unperformed agreement, a court's signed enforcement report."""

from __future__ import annotations

from datetime import timedelta

from tests.builders import body, county, lead_of
from tests.e2e.web_client import PASSWORD, csrf_of, sign_in


def _fulfilled(live, svc, agencies, clock) -> dict:
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    fulfil_by = (clock.now + timedelta(days=5)).astimezone(svc.ctx.config.calendar.tz).date().isoformat()
    r = a.event(lead["id"], "outcome", outcome={"result": "agreement", "agreement": {
        "terms": "赔偿800元", "amount": "800.00", "fulfil_by": fulfil_by}})
    assert r.status_code == 200, r.text
    return d


def test_follow_up_staff_record_a_visit_over_http_and_may_do_nothing_else(live, svc, agencies, clock):
    d = _fulfilled(live, svc, agencies, clock)
    url = f"/api/v1/disputes/{d['id']}/follow-up"
    early = live.post(url, {"satisfaction": "satisfied", "reason": "电话回访"}, role="follow_up")
    assert early.status_code == 409  # still fulfilling
    act = live.post(f"/api/v1/disputes/{d['id']}/actions", {"action": "record_fulfilment", "reason": "已付清"},
                    role="supervisor")
    assert act.status_code == 200
    assert live.post(f"/api/v1/disputes/{d['id']}/actions", {"action": "close", "reason": "x"},
                     role="follow_up").status_code == 403
    assert live.post("/api/v1/disputes", body(county(svc)["v"]), role="follow_up").status_code == 403
    assert live.post(url, {"satisfaction": "great", "reason": "x"}, role="follow_up").status_code == 422
    assert live.post(url, {"satisfaction": "satisfied", "reason": " "}, role="follow_up").status_code == 422
    r = live.post(url, {"satisfaction": "dissatisfied", "reason": "赔偿未到账"}, role="follow_up")
    assert r.status_code == 200 and r.json()["state"] == "handed_off"
    assert live.get(f"/api/v1/disputes/{d['id']}", role="follow_up").status_code == 200


def test_an_unperformed_agreement_on_the_workbench_and_the_follow_up_page(live, svc, agencies, clock, web):
    d = _fulfilled(live, svc, agencies, clock)
    clock.advance(days=7)
    svc.run_due_timers()
    svc.add_user("supervisor-after", "supervisor", PASSWORD)
    sup = web.test_client()
    assert sign_in(sup, "supervisor-after").status_code == 303
    tab = sup.get("/supervise?queue=unfulfilled").text
    assert "逾期未履行" in tab and f"/disputes/{d['id']}" in tab
    page = sup.get(f"/disputes/{d['id']}").text
    assert "再次调解" in page and "引导诉讼" in page and "申请强制执行" not in page  # not confirmed
    r = sup.post(f"/disputes/{d['id']}/actions", data={"csrf_token": csrf_of(page), "action": "record_fulfilment",
                                                       "reason": "已补交"})
    assert r.status_code == 303 and svc.get_dispute(d["id"])["state"] == "follow_up"
    svc.add_user("visitor-web", "follow_up", PASSWORD)
    visitor = web.test_client()
    assert sign_in(visitor, "visitor-web").status_code == 303
    listing = visitor.get("/follow-ups")
    assert listing.status_code == 200 and f"/disputes/{d['id']}#visit" in listing.text
    assert visitor.get("/supervise").status_code == 403 and visitor.get("/window").status_code == 403
    page = visitor.get(f"/disputes/{d['id']}").text
    assert 'for="visit-satisfaction"' in page
    blank = visitor.post(f"/disputes/{d['id']}/follow-up", data={"csrf_token": csrf_of(page),
                                                                "satisfaction": "satisfied", "reason": ""})
    assert blank.status_code == 422 and 'id="visit-reason-err"' in blank.text
    done = visitor.post(f"/disputes/{d['id']}/follow-up", data={"csrf_token": csrf_of(page),
                                                               "satisfaction": "satisfied", "reason": "上门回访"})
    assert done.status_code == 303 and svc.get_dispute(d["id"])["state"] == "closed"
