"""A paper agency's hand-over over HTTP and on the dispute page: the 委托函 to print and the form that
records who took it (docs/agency-guide.md §1)."""

from __future__ import annotations

from typing import Any

from router.services import Actor
from tests.builders import lead_of, register
from tests.e2e.web_client import csrf_of

SUP = Actor("user", "paper-supervisor", "supervisor")


def _paper_handoff(svc, offline) -> tuple[dict[str, Any], dict[str, Any], str]:
    d = register(svc)
    code = offline("paper", d)
    svc.act(d["id"], {"action": "designate", "agency": code, "reason": "指定纸质单位"}, SUP)
    return d, lead_of(svc.get_dispute(d["id"])), code


def test_a_clerk_records_a_paper_hand_over_over_http(live, svc, offline):
    d, h, _ = _paper_handoff(svc, offline)
    path = f"/api/v1/disputes/{d['id']}/handoffs/{h['id']}/paper-handover"
    r = live.post(path, {})
    assert r.status_code == 422 and "received_by" in r.json()["error"]["fields"]
    r = live.post(path, {"received_by": "王五", "extra": 1})
    assert r.status_code == 422 and "extra" in r.json()["error"]["fields"]
    r = live.post(path, {"received_by": "王五"})
    assert r.status_code == 200, r.text
    assert lead_of(r.json())["state"] == "delivered"
    r = live.post(path, {"received_by": "王五"})
    assert r.status_code == 409


def test_the_dispute_page_prints_the_letter_and_records_the_hand_over(clerk, svc, offline):
    d, h, code = _paper_handoff(svc, offline)
    html = clerk.get(f"/disputes/{d['id']}").text
    assert "纸质移交" in html and "打印委托函" in html and 'for="received-by-' in html
    letter = clerk.get(f"/disputes/{d['id']}/handoffs/{h['id']}/letter")
    assert letter.status_code == 200 and "矛盾纠纷委托调处函" in letter.text and d["reference"] in letter.text
    form = f"/disputes/{d['id']}/handoffs/{h['id']}/paper-handover"
    r = clerk.post(form, data={"csrf_token": csrf_of(html), "received_by": ""})
    assert r.status_code == 422 and "接收人" in r.text
    assert lead_of(svc.get_dispute(d["id"]))["state"] == "offered"
    r = clerk.post(form, data={"received_by": "王五"})  # no CSRF token: refused
    assert r.status_code in (400, 403) and lead_of(svc.get_dispute(d["id"]))["state"] == "offered"
    r = clerk.post(form, data={"csrf_token": csrf_of(html), "received_by": "王五", "received_at": "2020-01-01T09:30"})
    assert r.status_code == 422 and "接收时间不能早于移交时间" in r.text  # beside the field, nothing stored
    r = clerk.post(form, data={"csrf_token": csrf_of(html), "received_by": "王五"})
    assert r.status_code == 303, r.text
    assert lead_of(svc.get_dispute(d["id"]))["state"] == "delivered"
    html = clerk.get(f"/disputes/{d['id']}").text
    assert "登记签收" in html  # handed over, not yet signed for: the clerk may record the 签收 on its behalf
    r = clerk.post(form, data={"csrf_token": csrf_of(html), "received_by": "王五", "acknowledged": "1"})
    assert r.status_code == 303, r.text
    assert lead_of(svc.get_dispute(d["id"]))["state"] == "acknowledged"
    after = clerk.get(f"/disputes/{d['id']}").text
    assert "已登记纸质移交，视为送达" in after and 'id="paper-title"' not in after  # nothing left to hand over
