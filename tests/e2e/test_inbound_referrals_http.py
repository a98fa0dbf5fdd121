"""Inbound referrals over real HTTP (issue 12, first part): one signed intake for every referring body,
idempotent on its own number, the family's fields kept and shown, and the sender hearing every step
and the end, signed, with its number; a court's failed mediation goes back to the court."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from router.store.models import Outbox, Timer
from tests.builders import body, county, events_of, lead_of, wait_for


def _agency_of(svc, body_type: str) -> str:
    centre = svc.ctx.config.divisions.centre.code[:6]
    codes = sorted(c for c, a in svc.ctx.registry().by_code.items() if str(a.body_type) == body_type and a.active)
    return next((c for c in codes if centre in c), codes[0])


def _referral(svc, **kw: Any) -> dict[str, Any]:
    b = body(county(svc)["v"], "CONTRACT", **kw)
    b.pop("source"), b.pop("source_ref")
    return b


def _notices(svc, dispute_id: str, kind: str) -> list[dict[str, Any]]:
    with svc.ctx.store.read() as s:
        return [o.payload for o in s.query(Outbox).filter(Outbox.dispute_id == dispute_id, Outbox.kind == kind)
                .order_by(Outbox.seq)]


def test_a_court_refers_idempotently_and_hears_each_step(live, svc, agencies, supervisor):
    court = agencies(_agency_of(svc, "court"))
    b = {**_referral(svc), "referral_no": "(2026)浙0681民诉前调1234号",
         "details": {"case_no": "(2026)浙0681民诉前调1234号", "cause": "买卖合同纠纷"}}
    r = court.request("POST", "/api/v1/intake/referral", b)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["source"] == "court" and d["source_ref"] == b["referral_no"] and d["state"] == "handed_off"
    assert d["referral"]["details"] == {"case_no": b["referral_no"], "cause": "买卖合同纠纷", "mediation_days": 15}
    again = court.request("POST", "/api/v1/intake/referral", b)
    assert again.status_code in (200, 201) and again.json()["id"] == d["id"]
    changed = court.request("POST", "/api/v1/intake/referral", {**b, "summary": "改了内容"})
    assert changed.status_code == 409
    (status,) = _notices(svc, d["id"], "referral.status")
    assert status["referral_no"] == b["referral_no"] and status["status"] == "handed_off"
    page = supervisor.get(f"/disputes/{d['id']}").text
    assert "转入单位" in page and "案由：买卖合同纠纷" in page


def test_who_may_refer_and_what_the_families_must_say(live, svc, agencies):
    committee = agencies(_agency_of(svc, "people_mediation"))
    r = committee.request("POST", "/api/v1/intake/referral", {**_referral(svc), "referral_no": "X-1"})
    assert r.status_code == 403
    court = agencies(_agency_of(svc, "court"))
    bad = court.request("POST", "/api/v1/intake/referral", {**_referral(svc), "referral_no": "X-2", "details": {}})
    assert bad.status_code == 422 and "details.case_no" in bad.json()["error"]["fields"]
    police = agencies(_agency_of(svc, "police"))
    incident = {"incident_no": "JQ20261123001", "violence": True}
    r = police.request("POST", "/api/v1/intake/referral",
                       {**_referral(svc), "referral_no": "JQ20261123001", "details": incident})
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["source"] == "police" and "violence_threat" in d["risk_flags"]
    assert any(h["body_type"] == "police" for h in d["handoffs"])


def test_a_failed_court_mediation_goes_back_to_the_court_with_the_result(live, svc, agencies):
    code = _agency_of(svc, "court")
    r = agencies(code).request("POST", "/api/v1/intake/referral", {
        **_referral(svc), "referral_no": "(2026)浙0681民诉前调9号", "details": {"case_no": "(2026)浙0681民诉前调9号"}})
    d = r.json()
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    assert a.event(lead["id"], "outcome", outcome={"result": "failed"}).status_code == 200
    view = live.get(f"/api/v1/disputes/{d['id']}").json()
    assert view["state"] == "closed" and view["closure"]["code"] == "returned_to_court"
    assert len([h for h in view["handoffs"] if h["role"] == "lead"]) == 1  # not the generic next body
    (result,) = _notices(svc, d["id"], "referral.result")
    assert result["referral_no"] == "(2026)浙0681民诉前调9号" and result["result"] == "returned_to_court"
    assert result["name"] == "委派调解结果反馈" and result["resolved"] is False


def test_an_agreement_reaches_the_court_signed_with_its_terms(live, svc, agencies, stub, background):
    code = _agency_of(svc, "court")
    r = agencies(code).request("POST", "/api/v1/intake/referral", {
        **_referral(svc), "referral_no": "(2026)浙0681民诉前调7号", "details": {"case_no": "(2026)浙0681民诉前调7号"}})
    d = r.json()
    lead = lead_of(d)
    a = agencies(lead["agency"])
    a.event(lead["id"], "acknowledged")
    a.event(lead["id"], "outcome", outcome={"result": "agreement", "agreement": {"terms": "分两期付清货款",
                                                                                  "amount": "80000.00"}})
    live.post(f"/api/v1/disputes/{d['id']}/actions", {"action": "close", "reason": "协议已履行"}, role="supervisor")
    got = wait_for(lambda: [x for x in stub.deliveries(code) if x.payload.get("kind") == "referral_result"])
    assert got[0].verified and got[0].payload["agreement"]["terms"] == "分两期付清货款"
    assert got[0].payload["referral_no"] == "(2026)浙0681民诉前调7号" and got[0].payload["resolved"] is True


def test_the_courts_period_is_the_disputes_outer_deadline_warned_and_escalated(live, svc, agencies, clock):
    code = _agency_of(svc, "court")
    r = agencies(code).request("POST", "/api/v1/intake/referral", {
        **_referral(svc), "referral_no": "(2026)浙0681民诉前调5号",
        "details": {"case_no": "(2026)浙0681民诉前调5号", "mediation_days": 15}})
    d = r.json()
    due = datetime.fromisoformat(d["referral"]["outer_due"])
    assert (due - clock.now) > timedelta(days=15) and "法院委派调解期限15日" in d["referral"]["outer_due_rule"]
    lead = lead_of(d)
    agencies(lead["agency"]).event(lead["id"], "acknowledged")
    with svc.ctx.store.read() as s:
        warn = s.query(Timer).filter(Timer.dispute_id == d["id"], Timer.kind == "outer_warn").one().due_at
    assert warn < due
    clock.now = warn + timedelta(minutes=1)
    svc.run_due_timers()
    assert events_of(svc, d["id"], "dispute.outer_deadline_warned")
    clock.now = due + timedelta(minutes=1)
    svc.run_due_timers()
    assert events_of(svc, d["id"], "dispute.outer_deadline_passed")
    escalated = [e for e in events_of(svc, d["id"], "handoff.escalated", data_only=True)
                 if "转入单位的期限" in e["reason"]]
    assert escalated and lead_of(live.get(f"/api/v1/disputes/{d['id']}").json())["escalated_at"]


def test_received_by_source_and_litigation_diverted(live, svc, agencies):
    code = _agency_of(svc, "court")
    r = agencies(code).request("POST", "/api/v1/intake/referral", {
        **_referral(svc), "referral_no": "(2026)浙0681民诉前调3号", "details": {"case_no": "(2026)浙0681民诉前调3号"}})
    d = r.json()
    lead = lead_of(d)
    a = agencies(lead["agency"])
    a.event(lead["id"], "acknowledged")
    a.event(lead["id"], "outcome", outcome={"result": "agreement", "agreement": {"terms": "和解"}})
    live.post("/api/v1/disputes", body(county(svc)["v"]))  # a walk-in
    q = {"from": "2026-11-23", "to": "2026-11-23"}
    k = {x["code"]: x for x in live.get("/api/v1/reports/kpis", params=q).json()["kpis"]}
    assert k["litigation_diverted"]["value"] == 1 and k["litigation_diverted"]["name"] == "诉讼引流"
    grouped = live.get("/api/v1/reports/kpis", params={**q, "group_by": "source"}).json()
    received = {g["key"]: g for g in grouped["groups"]}
    assert set(received) >= {"court", "walk_in"}
