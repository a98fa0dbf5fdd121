"""不予受理, 当场化解 and 并单 over real HTTP (the API) and through the web pages (the window, the
receipt, the 告知书, the dispute page and the workbench tab)."""

from __future__ import annotations

import re

from tests.builders import body, county, events_of
from tests.e2e.web_client import csrf_of, intake_form, register_on_web, window_token


# ---------------------------------------------------------------- the API
def test_not_accepted_and_resolved_on_spot_over_http(live, svc):
    v = county(svc)["v"]
    r = live.post("/api/v1/disputes", body(v, disposition={"type": "not_accepted", "reason_code": "emergency"}))
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "not_accepted" and "110" in r.json()["closure"]["refer_to"]
    r = live.post("/api/v1/disputes", body(v, disposition={"type": "resolved_on_spot", "terms": "当场道歉",
                                                            "fulfilled": True}))
    assert r.status_code == 201 and r.json()["state"] == "follow_up" and r.json()["outcome"]["on_spot"] is True
    bad = live.post("/api/v1/disputes", body(v, disposition={"type": "not_accepted", "reason_code": "nope"}))
    assert bad.status_code == 422 and "disposition.reason_code" in bad.json()["error"]["fields"]
    bad = live.post("/api/v1/disputes", body(v, disposition={"type": "resolved_on_spot"}))
    assert bad.status_code == 422 and list(bad.json()["error"]["fields"]) == ["disposition.terms"]
    hotline = live.post("/api/v1/disputes", body(v, disposition={"type": "weird"}))
    assert hotline.status_code == 422


def test_merge_and_split_over_http_by_a_clerk(live, svc):
    b = body(county(svc)["v"])
    first = live.post("/api/v1/disputes", b).json()
    second = live.post("/api/v1/disputes", b).json()
    assert second["state"] == "held_duplicate"
    url = f"/api/v1/disputes/{second['id']}/duplicate"
    assert live.post(url, {"decision": "merge", "reason": "同一纠纷"}, role=None).status_code == 401
    assert live.post(url, {"decision": "merge"}).status_code == 422  # the reason is required
    assert live.post(url, {"decision": "fuse", "reason": "x"}).status_code == 422
    assert live.post("/api/v1/disputes/nope/duplicate", {"decision": "merge", "reason": "x"}).status_code == 404
    r = live.post(url, {"decision": "merge", "reason": "同一纠纷"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "merged" and r.json()["merged_into"]["id"] == first["id"]
    again = live.post(url, {"decision": "merge", "reason": "同一纠纷"})  # a retry: the first answer
    assert again.status_code == 200 and again.json()["merged_into"]["id"] == first["id"]
    assert live.post(url, {"decision": "distinct", "reason": "x"}).status_code == 409
    target = live.get(f"/api/v1/disputes/{first['id']}").json()
    assert len(target["parties"]) == 4
    r = live.post(url, {"decision": "split", "reason": "核实为两件事"}, role="supervisor")
    assert r.status_code == 200 and r.json()["state"] == "handed_off"
    assert len(live.get(f"/api/v1/disputes/{first['id']}").json()["parties"]) == 2


# ---------------------------------------------------------------- the window
def test_not_accepted_at_the_window_prints_the_notice(clerk, svc):
    data = intake_form(svc, window_token(clerk), **{"disposition-type": "not_accepted",
                                                     "disposition-reason_code": "in_litigation"})
    r = clerk.post("/window", data=data)
    assert r.status_code == 303, r.text
    dispute_id = re.search(r"/disputes/([^/]+)/receipt", r.headers["Location"]).group(1)
    receipt = clerk.get(f"/disputes/{dispute_id}/receipt").text
    assert "不予受理" in receipt and f"/disputes/{dispute_id}/notice" in receipt
    notice = clerk.get(f"/disputes/{dispute_id}/notice")
    assert notice.status_code == 200 and "不予受理告知书" in notice.text
    assert "人民法院已经受理" in notice.text and "第二十二条" in notice.text and "人民法院了解案件进展" in notice.text
    assert data["parties-0-id_number"] not in notice.text


def test_the_notice_of_an_accepted_dispute_is_refused(clerk, svc):
    dispute_id, _ = register_on_web(clerk, svc)
    assert clerk.get(f"/disputes/{dispute_id}/notice").status_code == 409


def test_a_bad_disposition_on_the_window_is_said_beside_its_field(clerk, svc):
    data = intake_form(svc, window_token(clerk), **{"disposition-type": "resolved_on_spot"})
    r = clerk.post("/window", data=data)
    assert r.status_code == 422
    m = re.search(r'<small class="error" id="err-disposition-terms">([^<]+)</small>', r.text)
    assert m and "协议内容" in m.group(1)
    data = intake_form(svc, window_token(clerk), **{"disposition-type": "not_accepted"})
    r = clerk.post("/window", data=data)
    assert r.status_code == 422 and 'id="err-disposition-reason_code"' in r.text


def test_resolved_on_spot_at_the_window(clerk, svc):
    data = intake_form(svc, window_token(clerk), **{"disposition-type": "resolved_on_spot",
                                                     "disposition-terms": "双方当场和解，互不追究",
                                                     "disposition-fulfilled": "1"})
    r = clerk.post("/window", data=data)
    assert r.status_code == 303, r.text
    receipt = clerk.get(r.headers["Location"]).text
    assert "当场化解：双方当场和解" in receipt and "已当场履行" in receipt


def test_a_repeat_on_the_window_is_held_and_merged_from_the_dispute_page(clerk, supervisor, svc):
    first_id, data = register_on_web(clerk, svc)
    again = {**data, "submission": "another-submission", "csrf_token": window_token(clerk)}
    r = clerk.post("/window", data=again)
    assert r.status_code == 303
    second_id = re.search(r"/disputes/([^/]+)/receipt", r.headers["Location"]).group(1)
    receipt = clerk.get(r.headers["Location"]).text
    assert "暂缓分流" in receipt
    tab = supervisor.get("/supervise?queue=duplicates").text
    assert "疑似重复" in tab and f"/disputes/{second_id}" in tab
    page = clerk.get(f"/disputes/{second_id}").text
    assert "并单核实" in page and 'for="dup-reason"' in page
    token = csrf_of(page)
    blank = clerk.post(f"/disputes/{second_id}/duplicate", data={"csrf_token": token, "decision": "merge"})
    assert blank.status_code == 422 and 'id="dup-reason-err"' in blank.text
    no_csrf = clerk.post(f"/disputes/{second_id}/duplicate", data={"decision": "merge", "reason": "同一纠纷"})
    assert no_csrf.status_code == 400
    done = clerk.post(f"/disputes/{second_id}/duplicate",
                      data={"csrf_token": token, "decision": "merge", "reason": "同一纠纷"})
    assert done.status_code == 303
    target = clerk.get(f"/disputes/{first_id}").text
    assert target.count("并单</small>") == 2
    assert events_of(svc, first_id, "dispute.merged_in")
    again = clerk.post(f"/disputes/{second_id}/duplicate",
                       data={"csrf_token": token, "decision": "distinct", "reason": "不是同一纠纷"})
    assert again.status_code == 409 and 'role="alert"' in again.text


# ---------------------------------------------------------------- 补正
def test_incomplete_back_to_the_window_and_completed_over_http_and_on_the_page(live, clerk, svc, agencies):
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = d["handoffs"][0]
    r = agencies(lead["agency"]).event(lead["id"], "returned", reason="缺少身份证明", basis="若干规定第23条",
                                       reason_code="incomplete")
    assert r.status_code == 200, r.text
    assert live.get(f"/api/v1/disputes/{d['id']}").json()["state"] == "awaiting_completion"
    window = clerk.get("/window").text
    assert "待补正" in window and f"/disputes/{d['id']}#completion" in window and "缺少身份证明" in window
    page = clerk.get(f"/disputes/{d['id']}").text
    assert 'for="completion-note"' in page and "以材料不全退回：缺少身份证明" in page
    blank = clerk.post(f"/disputes/{d['id']}/completion", data={"csrf_token": csrf_of(page), "note": " "})
    assert blank.status_code == 422 and 'id="completion-note-err"' in blank.text
    url = f"/api/v1/disputes/{d['id']}/completion"
    assert live.post(url, {"note": ""}).status_code == 422
    assert live.post(url, {"note": "已补交"}, role=None).status_code == 401
    done = live.post(url, {"note": "已补交身份证复印件"})
    assert done.status_code == 200 and done.json()["state"] == "handed_off"
    assert [h["agency"] for h in done.json()["handoffs"] if h["role"] == "lead"] == [lead["agency"]] * 2
    assert live.post(url, {"note": "再补一次"}).status_code == 409
