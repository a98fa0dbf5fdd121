"""The web pages as a person uses them, without a browser (Flask's test client on the composed app):
sign-in and its session cookie, roles, CSRF, the intake window without JavaScript, the receipt and
the lookup, the supervisors' workbench, actions from a dialog, the dispute page, and htmx fragments."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

from router.domain.ids import mask_id_number, mask_phone
from tests.builders import BJ, VALID_ID, body, command, events_of, lead_of, move_past, register
from tests.e2e.web_client import (
    HTMX,
    PASSWORD,
    REFERENCE,
    csrf_of,
    disputes_stored,
    intake_form,
    local,
    path_of,
    place,
    register_on_web,
    set_cookie,
    sign_in,
    window_token,
)


# ---------------------------------------------------------------- 1. sign-in
def test_login_page_has_its_labels_and_button(web):
    r = web.test_client().get("/login")
    assert r.status_code == 200
    assert '<label for="username">用户名</label>' in r.text
    assert '<label for="password">密码</label>' in r.text
    assert '<button type="submit">登录</button>' in r.text


@pytest.mark.parametrize(("role", "home"), [("clerk", "/window"), ("supervisor", "/supervise")])
def test_good_password_goes_home_by_role(web, users, role, home):
    c = web.test_client()
    r = sign_in(c, users[role])
    assert r.status_code == 303 and path_of(r.headers["Location"]) == "/"
    r = c.get("/")
    assert r.status_code in (302, 303) and path_of(r.headers["Location"]) == home
    assert c.get(home).status_code == 200


def test_session_cookie_is_httponly_and_lax_and_not_secure_over_http(web, users):
    cookie = set_cookie(sign_in(web.test_client(), users["clerk"]))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_over_https(web, users):
    c = web.test_client()
    # over https Flask-WTF also checks the Referer, which a browser sends on a same-origin form post
    r = sign_in(c, users["clerk"], base_url="https://localhost", headers={"Referer": "https://localhost/login"})
    assert r.status_code == 303, r.text
    cookie = set_cookie(r)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_is_refused(web, users):
    c = web.test_client()
    r = sign_in(c, users["clerk"], "wrong-password")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert path_of(c.get("/window").headers["Location"]).startswith("/login")


def test_five_wrong_passwords_lock_the_account(web, users):
    c = web.test_client()
    for _ in range(5):
        r = sign_in(c, users["clerk"], "wrong-password")
        assert r.status_code in (401, 429)
    assert "锁定" in r.text  # the fifth says so already
    r = sign_in(c, users["clerk"], PASSWORD)
    assert r.status_code == 429
    assert "锁定" in r.text
    assert path_of(c.get("/window").headers["Location"]).startswith("/login")


def test_password_change_ends_an_earlier_session(web, svc, clock, clerk, users):
    assert clerk.get("/window").status_code == 200
    clock.advance(minutes=1)
    svc.set_password(users["clerk"], "another-password-2")
    r = clerk.get("/window")
    assert r.status_code == 302 and path_of(r.headers["Location"]).startswith("/login")


def test_idle_session_signs_out_and_says_so(web, svc, clerk, monkeypatch):
    assert clerk.get("/window").status_code == 200
    later = time.time() + svc.settings.session_idle_minutes * 60 + 5
    monkeypatch.setattr("router.web.session.time", SimpleNamespace(time=lambda: later))
    r = clerk.get("/window")
    assert r.status_code == 302
    target = path_of(r.headers["Location"])
    assert target.startswith("/login") and "idle=1" in target
    page = clerk.get(target)
    assert page.status_code == 200 and "长时间未操作" in page.text
    assert path_of(clerk.get("/window").headers["Location"]).startswith("/login")


def test_logout_ends_the_session(clerk):
    token = window_token(clerk)
    r = clerk.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and path_of(r.headers["Location"]) == "/login"
    r = clerk.get("/window")
    assert r.status_code == 302 and path_of(r.headers["Location"]).startswith("/login")


def test_sign_in_returns_to_the_page_asked_for(web, users):
    c = web.test_client()
    login = path_of(c.get("/window").headers["Location"])
    token = csrf_of(c.get(login).text)
    r = c.post(login, data={"csrf_token": token, "username": users["clerk"], "password": PASSWORD})
    assert r.status_code == 303 and path_of(r.headers["Location"]) == "/window"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example/",
                                    "/\t/evil.example/"])
def test_sign_in_never_sends_anyone_off_the_site(web, users, target):
    c = web.test_client()
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", query_string={"next": target},
               data={"csrf_token": token, "username": users["clerk"], "password": PASSWORD})
    assert r.status_code == 303
    # as a browser reads it: backslashes count as slashes, tabs and newlines are dropped
    seen = re.sub(r"[\t\r\n]", "", path_of(r.headers["Location"])).replace("\\", "/")
    assert seen.startswith("/") and not seen.startswith("//") and not urlsplit(seen).netloc, seen


# ---------------------------------------------------------------- 2. roles
def test_clerk_may_not_open_the_workbench(clerk):
    r = clerk.get("/supervise")
    assert r.status_code == 403
    assert '<html lang="zh-CN">' in r.text and "无权访问" in r.text


def test_supervisor_may_not_open_the_window(supervisor):
    r = supervisor.get("/window")
    assert r.status_code == 403
    assert '<html lang="zh-CN">' in r.text and "无权访问" in r.text


def test_signed_out_window_redirects_to_login_and_back(web):
    r = web.test_client().get("/window")
    assert r.status_code == 302
    assert path_of(r.headers["Location"]) in ("/login?next=/window", "/login?next=%2Fwindow")


# ---------------------------------------------------------------- 3. CSRF
def test_intake_post_without_csrf_token_is_refused_and_stores_nothing(clerk, svc):
    data = intake_form(svc, window_token(clerk))
    del data["csrf_token"]
    before = disputes_stored(svc)
    r = clerk.post("/window", data=data)
    assert r.status_code == 400 and "CSRF" in r.text
    assert disputes_stored(svc) == before


# ---------------------------------------------------------------- 4. the intake window, no JavaScript
def test_wrong_id_check_digit_is_shown_beside_the_field_and_nothing_stored(clerk, svc):
    bad = VALID_ID[:-1] + ("5" if VALID_ID[-1] != "5" else "6")
    data = intake_form(svc, window_token(clerk), **{"parties-0-id_number": bad, "summary": "装修噪音扰民"})
    before = disputes_stored(svc)
    r = clerk.post("/window", data=data)
    assert r.status_code == 422
    m = re.search(r'<small class="error" id="err-parties-0-id_number">([^<]+)</small>', r.text)
    assert m and m.group(1).strip(), "no message beside 身份证号"
    # it sits in the field of 身份证号 of party 1
    field = r.text[r.text.index('for="f-parties-0-id_number"'):m.end()]
    assert "身份证号" in field and "<div" not in field
    assert 'aria-invalid="true" aria-describedby="err-parties-0-id_number"' in r.text
    # what was typed is kept
    assert f'value="{bad}"' in r.text and "装修噪音扰民" in r.text and 'value="张三"' in r.text
    assert f'value="{data["parties-0-phone"]}"' in r.text and 'value="某建筑公司"' in r.text
    assert disputes_stored(svc) == before


def test_preview_shows_the_routing_and_stores_nothing(clerk, svc):
    data = intake_form(svc, window_token(clerk), action="preview")
    before = disputes_stored(svc)
    r = clerk.post("/window", data=data)
    assert r.status_code == 200
    assert "分流预览" in r.text
    reasons = svc.preview(command(body(place(svc)["village"], summary=data["summary"])))["routing"]["reasons"]
    assert reasons
    for x in reasons:
        assert x["text"] in r.text and x["rule"] in r.text
    assert disputes_stored(svc) == before


def test_add_party_adds_a_third_block_and_keeps_the_rest(clerk, svc):
    data = intake_form(svc, window_token(clerk), action="add_party")
    r = clerk.post("/window", data=data)
    assert r.status_code == 200
    assert 'name="parties-2-name"' in r.text and 'name="parties-3-name"' not in r.text
    assert "当事人 3" in r.text
    assert 'value="张三"' in r.text and 'value="某建筑公司"' in r.text


def test_submit_redirects_to_a_receipt_with_reference_lead_and_deadline(clerk, svc):
    before = disputes_stored(svc)
    dispute_id, _ = register_on_web(clerk, svc)
    assert disputes_stored(svc) == before + 1
    d = svc.get_dispute(dispute_id)
    lead = lead_of(d)
    r = clerk.get(f"/disputes/{dispute_id}/receipt")
    assert r.status_code == 200
    assert REFERENCE.fullmatch(d["reference"]) and d["reference"] in r.text
    assert svc.agency_names()[lead["agency"]] in r.text
    ack = datetime.fromisoformat(lead["ack_due"]).astimezone(BJ).strftime("%Y年%m月%d日 %H:%M")
    assert "<dt>签收期限</dt>" in r.text and f"{ack}前签收" in r.text


def test_the_same_submission_twice_registers_once(clerk, svc):
    dispute_id, data = register_on_web(clerk, svc)
    before = disputes_stored(svc)
    again = clerk.post("/window", data=data)
    assert again.status_code == 303
    assert path_of(again.headers["Location"]) == f"/disputes/{dispute_id}/receipt"
    assert disputes_stored(svc) == before


def test_a_changed_resend_of_a_registered_form_does_not_say_nothing_was_saved(clerk, svc):
    """Back after 提交登记, a correction, 提交 again: the same `submission`, another body."""
    dispute_id, data = register_on_web(clerk, svc)
    before = disputes_stored(svc)
    r = clerk.post("/window", data={**data, "summary": data["summary"] + "（补充）"})
    assert disputes_stored(svc) == before  # registered once, as it should be
    assert r.status_code == 409
    assert "Idempotency-Key" not in r.text
    assert "未保存任何内容" not in r.text
    assert "已经提交登记过" in r.text and f"/disputes/{dispute_id}/receipt" in r.text


def test_lookup_finds_it_by_phone_and_reference_with_the_phone_masked(clerk, svc):
    dispute_id, data = register_on_web(clerk, svc)
    phone, id_number = data["parties-0-phone"], data["parties-0-id_number"]
    masked = mask_phone(phone)
    reference = svc.get_dispute(dispute_id)["reference"]
    token = window_token(clerk)
    by_phone = clerk.post("/window/lookup", data={"q": phone, "csrf_token": token})
    assert by_phone.status_code == 200
    results = by_phone.text[by_phone.text.index("<table"):by_phone.text.index("</table>")]
    assert reference in results and f"/disputes/{dispute_id}" in results
    assert masked in results and phone not in results  # the clerk's own query is echoed above, no more
    by_ref = clerk.post("/window/lookup", data={"q": reference, "csrf_token": token})
    assert by_ref.status_code == 200
    assert f"/disputes/{dispute_id}" in by_ref.text and masked in by_ref.text
    assert phone not in by_ref.text and id_number not in by_ref.text


# ---------------------------------------------------------------- 5. the workbench
@pytest.fixture
def overdue(svc, clock) -> dict[str, Any]:
    """A LABOUR dispute whose lead has not acknowledged in time."""
    d = register(svc, category="LABOUR")
    move_past(clock, lead_of(d)["ack_due"])
    return d


def test_overdue_queue_lists_the_dispute_with_tab_counts(supervisor, overdue):
    r = supervisor.get("/supervise?queue=overdue")
    assert r.status_code == 200
    assert overdue["reference"] in r.text
    assert re.search(r'aria-current="page">超期 <span class="count">1</span>', r.text)
    assert re.search(r'>临期·今天 <span class="count">0</span>', r.text)
    assert "共 1 件" in r.text


def test_overdue_queue_before_the_deadline_is_empty(supervisor, svc, clock):
    d = register(svc, category="LABOUR")
    clock.now = datetime.fromisoformat(lead_of(d)["ack_due"]) - timedelta(minutes=1)
    r = supervisor.get("/supervise?queue=overdue")
    assert r.status_code == 200 and d["reference"] not in r.text
    assert '超期 <span class="count">0</span>' in r.text


def test_category_filter_in_the_url(supervisor, overdue):
    r = supervisor.get("/supervise?queue=overdue&category=LABOUR")
    assert r.status_code == 200 and overdue["reference"] in r.text
    assert '<option value="LABOUR" selected>' in r.text
    r = supervisor.get("/supervise?queue=overdue&category=NEIGHBOUR")
    assert r.status_code == 200 and overdue["reference"] not in r.text
    assert '超期 <span class="count">0</span>' in r.text


def test_unknown_category_is_a_422_page(supervisor, overdue):
    r = supervisor.get("/supervise?queue=overdue&category=NO_SUCH")
    assert r.status_code == 422
    assert '<html lang="zh-CN">' in r.text and "筛选条件有误" in r.text and "NO_SUCH" in r.text


def test_sort_by_reference_descending(supervisor, svc, clock):
    first = register(svc, category="LABOUR")
    second = register(svc, category="LABOUR")
    move_past(clock, max(lead_of(first)["ack_due"], lead_of(second)["ack_due"]))
    up = supervisor.get("/supervise?queue=overdue&sort=reference").text
    down = supervisor.get("/supervise?queue=overdue&sort=-reference").text
    assert up.index(first["reference"]) < up.index(second["reference"])
    assert down.index(second["reference"]) < down.index(first["reference"])
    assert 'aria-sort="descending"' in down


# ---------------------------------------------------------------- 6. actions without JavaScript
def test_urge_with_a_reason_redirects_back_and_shows_it(supervisor, svc):
    d = register(svc)
    back = f"/disputes/{d['id']}"
    token = csrf_of(supervisor.get(back).text)
    r = supervisor.post(f"/disputes/{d['id']}/actions", data={
        "csrf_token": token, "action": "urge", "reason": "请尽快签收", "next": back, "dialog": "dlg-d-urge"})
    assert r.status_code == 303 and path_of(r.headers["Location"]) == back
    page = supervisor.get(back).text
    assert '<div class="flash" role="status"><p>已催办</p></div>' in page
    assert "handoff.urged" in page and "请尽快签收" in page
    assert [e["reason"] for e in events_of(svc, d["id"], "handoff.urged", data_only=True)] == ["请尽快签收"]
    assert "已催办" not in supervisor.get(back).text  # a flash is shown once


def test_urge_without_a_reason_is_a_422_page_and_records_nothing(supervisor, svc):
    d = register(svc)
    back = f"/disputes/{d['id']}"
    token = csrf_of(supervisor.get(back).text)
    r = supervisor.post(f"/disputes/{d['id']}/actions", data={
        "csrf_token": token, "action": "urge", "reason": "  ", "next": back, "dialog": "dlg-d-urge"})
    assert r.status_code == 422
    assert '<html lang="zh-CN">' in r.text and "填写有误" in r.text
    assert events_of(svc, d["id"], "handoff.urged") == []


def test_reroute_of_a_closed_dispute_is_a_409_page_in_chinese(supervisor, svc):
    d = register(svc)
    back = f"/disputes/{d['id']}"
    token = csrf_of(supervisor.get(back).text)
    closed = supervisor.post(f"/disputes/{d['id']}/actions", data={
        "csrf_token": token, "action": "close", "reason": "当事人自行和解", "next": back})
    assert closed.status_code == 303
    assert svc.get_dispute(d["id"])["state"] == "closed"
    r = supervisor.post(f"/disputes/{d['id']}/actions", data={
        "csrf_token": token, "action": "reroute", "reason": "改派", "next": back, "dialog": "dlg-d-reroute"})
    assert r.status_code == 409
    assert '<html lang="zh-CN">' in r.text and "操作未执行" in r.text
    assert re.search(r"<p>[^<]*[\u4e00-\u9fff][^<]*</p>", r.text[r.text.index('id="err-title"'):])
    assert events_of(svc, d["id"], "dispute.reroute") == []


# ---------------------------------------------------------------- 7. the dispute page
def test_dispute_page_for_a_clerk_shows_facts_and_masked_parties_only(clerk, svc):
    dispute_id, data = register_on_web(clerk, svc)
    id_number, phone = data["parties-0-id_number"], data["parties-0-phone"]
    r = clerk.get(f"/disputes/{dispute_id}")
    assert r.status_code == 200
    assert "纠纷简要情况" in r.text and data["summary"] in r.text
    assert "张三" in r.text and "某建筑公司" in r.text
    assert mask_id_number(id_number) in r.text and mask_phone(phone) in r.text
    assert id_number not in r.text and phone not in r.text
    assert "/actions" not in r.text and "<dialog" not in r.text and "row-actions" not in r.text
    assert "全部事件" not in r.text and "events" not in re.findall(r'<table class="([^"]*)"', r.text)
    assert "审计链" not in r.text


def test_dispute_page_for_a_supervisor_shows_spans_and_the_chain(supervisor, svc):
    d = register(svc)
    token = csrf_of(supervisor.get(f"/disputes/{d['id']}").text)
    rerouted = supervisor.post(f"/disputes/{d['id']}/actions", data={
        "csrf_token": token, "action": "reroute", "reason": "村调委会负责人回避"})
    assert rerouted.status_code == 303
    r = supervisor.get(f"/disputes/{d['id']}")
    assert r.status_code == 200
    spans = svc.timeline(d["id"])["spans"]
    assert len(spans) >= 2
    table = r.text[r.text.index('<table class="dense spans">'):]
    table = table[:table.index("</table>")]
    head = table[table.index("<thead>"):table.index("</thead>")]
    assert "<th scope=\"col\">签收期限</th>" in head and "<th scope=\"col\">办理期限</th>" in head
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):], re.S)
    assert len(rows) == len(spans)
    names = svc.agency_names()
    for row, s in zip(rows, spans, strict=True):
        assert names[s["agency"]] in row
        assert local(s["ack_due"]) in row
        if s["handle_due"]:
            assert local(s["handle_due"]) in row
    n = len(events_of(svc, d["id"]))
    assert f"已校验：本纠纷的 {n} 条事件哈希链完整" in r.text
    assert "全部事件" in r.text and "row-actions" in r.text


@pytest.mark.parametrize("path", ["/disputes/00000000-0000-0000-0000-000000000000",
                                  "/disputes/00000000-0000-0000-0000-000000000000/receipt"])
def test_an_unknown_dispute_is_a_404_page(supervisor, path):
    r = supervisor.get(path)
    assert r.status_code == 404
    assert '<html lang="zh-CN">' in r.text and "纠纷不存在" in r.text


# ---------------------------------------------------------------- 8. htmx
def test_htmx_preview_returns_only_the_form(clerk, svc):
    data = intake_form(svc, window_token(clerk), action="preview")
    before = disputes_stored(svc)
    r = clerk.post("/window", data=data, headers=HTMX)
    assert r.status_code == 200
    assert "<html" not in r.text and "<body" not in r.text and "今日登记" not in r.text
    assert r.text.strip().startswith('<form method="post" action="/window" id="intake"')
    assert r.text.strip().endswith("</form>")
    assert "分流预览" in r.text
    assert disputes_stored(svc) == before


def test_htmx_refusal_is_a_fragment_retargeted_to_the_dialog(supervisor, svc):
    d = register(svc)
    back = f"/disputes/{d['id']}"
    token = csrf_of(supervisor.get(back).text)
    assert supervisor.post(f"/disputes/{d['id']}/actions", data={
        "csrf_token": token, "action": "close", "reason": "当事人自行和解", "next": back}).status_code == 303
    r = supervisor.post(f"/disputes/{d['id']}/actions", headers=HTMX, data={
        "csrf_token": token, "action": "reroute", "reason": "改派", "next": back, "dialog": "dlg-d-reroute"})
    assert r.status_code == 409
    assert r.headers["HX-Retarget"] == "#dlg-d-reroute-error"
    assert "<html" not in r.text
    assert r.text.startswith('<div class="refused" role="alert">')
    assert re.search(r"[\u4e00-\u9fff]", r.text)


def test_an_empty_category_and_place_say_what_to_choose(clerk, svc):
    data = intake_form(svc, window_token(clerk), category="", district="", town="", village="")
    r = clerk.post("/window", data=data)
    assert r.status_code == 422
    assert "请选择纠纷类别" in r.text and "长度必须" not in r.text
    assert "请选择纠纷发生地" in r.text and "格式不符合要求" not in r.text


@pytest.mark.parametrize("page", ["0", "100001", "99999999999999999999999", "x"])
def test_an_out_of_range_page_is_a_422_page(supervisor, page):
    r = supervisor.get(f"/supervise?queue=overdue&page={page}")
    assert r.status_code == 422 and "页码" in r.text
