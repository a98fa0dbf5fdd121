"""联动 over real HTTP: the lead's signed link_request, the supervisor's approval through the actions
API and on the dispute page, the workbench's 联动申请 tab, the expert's signed opinion."""

from __future__ import annotations

from tests.builders import body, county, lead_of
from tests.e2e.web_client import csrf_of


def test_an_expert_opinion_asked_approved_and_given_over_http(live, svc, agencies):
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = lead_of(d)
    agency = agencies(lead["agency"])
    bad = agency.event(lead["id"], "link_request", link={"kind": "assist", "body_type": "court", "reason": "x"})
    assert bad.status_code == 422 and "link.body_type" in bad.json()["error"]["fields"]
    r = agency.event(lead["id"], "link_request", link={"kind": "expert", "reason": "房屋漏水原因需专家鉴别"})
    assert r.status_code == 200, r.text
    view = live.get(f"/api/v1/disputes/{d['id']}").json()
    (link,) = view["links"]
    assert link["state"] == "pending"
    again = agency.event(lead["id"], "link_request", link={"kind": "expert", "reason": "再问一次"})
    assert again.status_code == 409
    ok = live.post(f"/api/v1/disputes/{d['id']}/actions",
                   {"action": "approve_link", "link": link["id"], "reason": "同意"}, role="supervisor")
    assert ok.status_code == 200, ok.text
    expert = next(h for h in ok.json()["handoffs"] if h["body_type"] == "expert_panel")
    panel = agencies(expert["agency"])
    got = panel.handoff(expert["id"]).json()["referral"]
    assert got["question"] == "房屋漏水原因需专家鉴别" and got["kind"] == "expert_opinion_request"
    assert panel.event(expert["id"], "acknowledged").status_code == 200
    done = panel.event(expert["id"], "outcome", outcome={"result": "opinion", "opinion": "系楼上防水层老化所致。"})
    assert done.status_code == 200, done.text
    assert live.get(f"/api/v1/disputes/{d['id']}").json()["state"] == "in_handling"


def test_a_supervisor_approves_a_transfer_on_the_workbench_and_the_page(live, svc, agencies, supervisor):
    d = live.post("/api/v1/disputes", body(county(svc)["v"], "PROPERTY_MGMT")).json()
    lead = lead_of(d)
    r = agencies(lead["agency"]).event(lead["id"], "link_request",
                                       link={"kind": "transfer", "body_type": "people_mediation",
                                             "reason": "不涉及物业服务，建议转人民调解"})
    assert r.status_code == 200, r.text
    tab = supervisor.get("/supervise?queue=links").text
    assert "联动申请" in tab and f"/disputes/{d['id']}" in tab
    page = supervisor.get(f"/disputes/{d['id']}").text
    assert "建议转派" in page and "待审批" in page and 'for="link-reason-' in page
    link = svc.get_dispute(d["id"])["links"][0]
    blank = supervisor.post(f"/disputes/{d['id']}/actions", data={"csrf_token": csrf_of(page), "link": link["id"],
                                                                  "action": "approve_link", "reason": ""})
    assert blank.status_code == 422
    done = supervisor.post(f"/disputes/{d['id']}/actions", data={"csrf_token": csrf_of(page), "link": link["id"],
                                                                 "action": "approve_link", "reason": "同意转派"})
    assert done.status_code == 303
    after = svc.get_dispute(d["id"])
    assert lead_of(after)["body_type"] == "people_mediation" and after["links"][0]["state"] == "approved"
    assert "已同意" in supervisor.get(f"/disputes/{d['id']}").text
