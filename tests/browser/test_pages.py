"""The pages in a real browser: the clerk's registration from a wrong ID to the receipt and the
lookup; the supervisor's overdue queue, 催办 and the dispute page with its Gantt; the 403 page; the
refusal of a form without its CSRF token; the lock-out; an accessibility check on every page."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from router.services.views import DisputeFilter
from router.store.models import Agency, Dispute
from tests.browser.conftest import accessible, screenshot, sign_in
from tests.builders import CLERK, body, command, county, events_of, lead_of, register

VALID_ID, WRONG_ID = "110101199003074514", "110101199003074515"


def _disputes(svc) -> int:
    with svc.ctx.store.read() as s:
        return s.scalar(select(func.count()).select_from(Dispute))


def _fill_intake(page, svc, id_number):
    c = county(svc)
    village = svc.ctx.config.divisions.get(c["v"])
    town = svc.ctx.config.divisions.get(village.parent)
    page.get_by_label("纠纷类别").select_option("LABOUR")
    page.get_by_label("纠纷简要情况").fill("拖欠工资三个月")
    page.get_by_label("涉及金额").fill("12000.00")
    page.get_by_label("区县").select_option(town.parent)
    page.wait_for_timeout(300)
    page.get_by_label("乡镇（街道）").select_option(town.code)
    page.wait_for_timeout(300)
    page.get_by_label("村（社区）").select_option(village.code)
    party = page.locator("fieldset.party").nth(0)
    party.get_by_label("姓名").fill("张三")
    party.get_by_label("身份证号").fill(id_number)
    party.get_by_label("手机号").fill("13800138000")
    other = page.locator("fieldset.party").nth(1)
    other.get_by_label("类型").select_option("organization")
    other.get_by_label("姓名").fill("某建筑公司")


def test_a_clerk_registers_a_dispute_from_a_wrong_id_to_the_receipt(site, page, svc):
    sign_in(page, site, "clerk")
    page.wait_for_url("**/window")
    assert accessible(page) == []
    screenshot(page, "window")
    _fill_intake(page, svc, WRONG_ID)
    assert "校验码" in page.locator("#live-f-parties-0-id_number").inner_text()  # checked as it is typed
    page.get_by_role("button", name="提交登记").click()
    error = page.locator("#err-parties-0-id_number")
    assert "校验" in error.inner_text()  # the server says it again, beside the field
    assert page.locator("#f-parties-0-id_number").get_attribute("aria-invalid") == "true"
    assert _disputes(svc) == 0
    assert accessible(page) == []
    page.locator("#f-parties-0-id_number").fill(VALID_ID)
    page.get_by_role("button", name="预览分流").click()
    page.locator("#preview-title").wait_for()
    reasons = page.locator("ol.reasons").inner_text()
    assert "劳动争议纠纷" in reasons and "category.LABOUR" in reasons
    assert _disputes(svc) == 0  # a preview stores nothing
    screenshot(page, "window-preview")
    page.get_by_role("button", name="提交登记").click()
    page.wait_for_url("**/receipt")
    receipt = page.locator("article.receipt").inner_text()
    d = svc.list_disputes(DisputeFilter())["items"][0]
    lead = lead_of(d)
    assert d["reference"] in receipt and svc.agency_names()[lead["agency"]] in receipt and "签收期限" in receipt
    assert accessible(page) == []
    screenshot(page, "receipt")
    page.goto(f"{site}/window")
    page.get_by_label("受理编号、当事人姓名、身份证号或手机号").fill("13800138000")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url("**/lookup")
    found = page.locator("table").inner_text()
    assert d["reference"] in found and "138****8000" in found and "13800138000" not in found
    assert accessible(page) == []
    screenshot(page, "lookup")


def test_a_supervisor_urges_an_overdue_handoff_and_sees_it_on_the_dispute(site, page, svc, clock):
    view = svc.register_dispute(command(body(county(svc)["v"], "LABOUR")), CLERK)[1]
    lead = lead_of(view)
    clock.now = datetime.fromisoformat(lead["ack_due"]) + timedelta(hours=1)
    sign_in(page, site, "supervisor")
    page.wait_for_url("**/supervise")
    page.get_by_role("link", name="超期").click()
    row = page.locator("tr", has_text=view["reference"])
    row.wait_for()
    assert "超期" in row.inner_text()
    assert accessible(page) == []
    screenshot(page, "supervise-overdue")
    row.get_by_role("button", name="催办").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("理由").fill("逾期未签收，请当日签收")
    dialog.get_by_role("button", name="确定催办").click()
    page.locator("#queue .flash").wait_for()
    assert "已催办" in page.locator("#queue .flash").inner_text()
    assert [e.data["reason"] for e in events_of(svc, view["id"], "handoff.urged")] == ["逾期未签收，请当日签收"]
    page.get_by_role("link", name=view["reference"]).click()
    page.wait_for_url(f"**/disputes/{view['id']}")
    events = page.locator("table.events").inner_text()
    assert "催办" in events and "逾期未签收，请当日签收" in events
    spans = page.locator("table.spans tbody tr")
    assert spans.count() == len(view["handoffs"])
    first = spans.nth(0).inner_text()
    assert datetime.fromisoformat(lead["ack_due"]).astimezone(svc.ctx.config.calendar.tz).strftime("%Y-%m-%d") in first
    page.locator("#gantt svg").wait_for()  # the chart drew
    assert "已校验" in page.locator("#chain-title + p").inner_text()
    assert accessible(page) == []
    screenshot(page, "dispute")


def test_a_refused_action_says_why_in_the_dialog(site, page, svc):
    view = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    sign_in(page, site, "supervisor")
    page.goto(f"{site}/disputes/{view['id']}")
    svc.act(view["id"], {"action": "close", "reason": "当事人自行和解"}, CLERK.__class__("user", "s", "supervisor"))
    page.get_by_role("button", name="提级").click()  # the page still offers it: the dispute closed meanwhile
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("理由").fill("需要区级调处")
    dialog.get_by_role("button", name="确定提级").click()
    alert = dialog.locator(".refused")
    alert.wait_for()
    assert "不允许提级" in alert.inner_text()


def test_a_clerk_gets_the_403_page_on_the_workbench(site, page, svc):
    sign_in(page, site, "clerk")
    r = page.goto(f"{site}/supervise")
    assert r.status == 403 and "无权访问" in page.locator("h1").inner_text()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert accessible(page) == []
    screenshot(page, "forbidden")


def test_a_form_without_its_csrf_token_is_refused(site, page, svc):
    sign_in(page, site, "clerk")
    page.goto(f"{site}/window")
    _fill_intake(page, svc, VALID_ID)
    page.evaluate("document.querySelector('#intake input[name=csrf_token]').remove()")
    page.get_by_role("button", name="提交登记").click()
    page.wait_for_load_state()
    assert "CSRF" in page.locator("main").inner_text()
    assert _disputes(svc) == 0


def test_five_wrong_passwords_lock_the_account(site, page, svc):
    page.goto(f"{site}/login")
    assert accessible(page) == []
    screenshot(page, "login")
    for _ in range(svc.settings.login_lock_after):
        page.get_by_label("用户名").fill("clerk-web")
        page.get_by_label("密码").fill("wrong-password")
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()
    assert "锁定" in page.locator("[role=alert]").inner_text()
    page.get_by_label("用户名").fill("clerk-web")
    page.get_by_label("密码").fill("clerk-pass-1")
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert "锁定" in page.locator("[role=alert]").inner_text() and "/login" in page.url


def test_every_page_passes_the_accessibility_check(site, page, svc, clock):
    view = svc.register_dispute(command(body(county(svc)["v"], "LABOUR")), CLERK)[1]
    sign_in(page, site, "supervisor")
    pages = {f"supervise-{q}": f"/supervise?queue={q}" for q in
             ("needs_supervisor", "overdue", "due_today", "due_tomorrow", "due_week", "undeliverable", "follow_up")}
    pages["dispute-supervisor"] = f"/disputes/{view['id']}"
    pages["not-found"] = "/no-such-page"
    for name, path in pages.items():
        page.goto(site + path)
        assert accessible(page) == [], name
        screenshot(page, name)
    page.goto(f"{site}/disputes/{view['id']}")
    page.get_by_role("button", name="改派").click()
    assert accessible(page) == [], "the reroute dialog"
    screenshot(page, "dialog-reroute")
    page.get_by_role("button", name="取消").first.click()
    page.get_by_role("button", name="退出").click()
    sign_in(page, site, "clerk")
    clerk_pages = {"dispute-clerk": f"/disputes/{view['id']}", "lookup-empty": "/window/lookup"}
    for name, path in clerk_pages.items():
        page.goto(site + path)
        assert accessible(page) == [], name
        screenshot(page, name)


EVIL = '调委会<img src=x onerror="window.__xss=1">'


def test_an_agency_name_stays_text_in_the_gantt_tooltip(site, page, svc, clock):
    """ECharts puts a tooltip formatter's string in the page as HTML: app.js escapes the agency name
    (agencies.yaml / `agency add`) first, as the page's own tables do."""
    d = register(svc)
    clock.advance(hours=20)  # a bar wide enough to point at
    code = lead_of(d)["agency"]
    with svc.ctx.store.read() as s:
        old = s.get(Agency, code).name
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.execute(update(Agency).where(Agency.code == code).values(name=EVIL))
    svc.ctx.invalidate_registry()
    try:
        sign_in(page, site, "supervisor")
        page.goto(f"{site}/disputes/{d['id']}")
        assert EVIL in page.locator("table.spans").inner_text()  # escaped in the table: shown as text
        page.locator("#gantt svg").wait_for()
        gantt = page.locator("#gantt")
        gantt.scroll_into_view_if_needed()
        box = gantt.bounding_box()
        for dx in range(200, int(box["width"]) - 30, 10):  # along the bar's row until the tooltip opens
            page.mouse.move(box["x"] + dx, box["y"] + 20 + (box["height"] - 60) / 2)
            if page.evaluate("() => !!window.__xss"):
                break
        injected = page.evaluate("() => ({xss: !!window.__xss, img: !!document.querySelector('#gantt img')})")
        assert injected == {"xss": False, "img": False}, f"the agency name became markup in the tooltip: {injected}"
    finally:
        with svc.ctx.store.unit_of_work() as uow:
            uow.session.execute(update(Agency).where(Agency.code == code).values(name=old))
        svc.ctx.invalidate_registry()


def test_a_clerk_merges_a_held_repeat_and_refuses_one_at_the_window(site, page, svc):
    b = body(county(svc)["v"])
    first = svc.register_dispute(command(b), CLERK)[1]
    held = svc.register_dispute(command({**b, "summary": "又来登记"}), CLERK)[1]
    assert held["state"] == "held_duplicate"
    sign_in(page, site, "clerk")
    page.wait_for_url("**/window")
    page.goto(f"{site}/disputes/{held['id']}")
    assert "暂缓分流" in page.locator("#duplicate").inner_text()
    assert accessible(page) == []
    page.get_by_role("button", name=f"并入 {first['reference']}（并单）").click()  # no reason: the browser asks
    assert svc.get_dispute(held["id"])["state"] == "held_duplicate"
    page.get_by_label("理由").fill("同一漏水纠纷，申请人再次来访")
    page.get_by_role("button", name=f"并入 {first['reference']}（并单）").click()
    page.locator(".flash").wait_for()
    assert "已并单" in page.locator(".flash").inner_text()
    assert svc.get_dispute(held["id"])["state"] == "merged"
    assert len(svc.get_dispute(first["id"])["parties"]) == 4
    screenshot(page, "merged")
    # 不予受理 at the window, and its 告知书
    page.goto(f"{site}/window")
    _fill_intake(page, svc, VALID_ID)
    page.get_by_label("不予受理（出具告知书）").check()
    page.get_by_label("不予受理理由").select_option("in_arbitration")
    page.get_by_role("button", name="提交登记").click()
    page.wait_for_url("**/receipt")
    assert "不予受理" in page.locator("#outcome").inner_text()
    page.get_by_role("link", name="打印不予受理告知书").click()
    page.wait_for_url("**/notice")
    assert "仲裁机构已经受理" in page.locator("article").inner_text()
    assert accessible(page) == []
    screenshot(page, "not-accepted-notice")


def test_a_supervisor_approves_an_expert_opinion_on_the_dispute_page(site, page, svc):
    d = register(svc)
    lead = lead_of(d)
    svc.agency_event(lead["agency"], lead["id"], {"event_id": "browser-link-1", "type": "link_request",
                                                  "link": {"kind": "expert", "reason": "漏水原因需专家鉴别"}})
    sign_in(page, site, "supervisor")
    page.wait_for_url("**/supervise")
    page.goto(f"{site}/supervise?queue=links")
    assert d["reference"] in page.locator("main").inner_text()
    page.goto(f"{site}/disputes/{d['id']}")
    links = page.locator("#links")
    assert "请求专家意见" in links.inner_text() and "待审批" in links.inner_text()
    assert accessible(page) == []
    links.get_by_label("审批意见").fill("同意征询专家库意见")
    links.get_by_role("button", name="同意", exact=True).click()
    page.locator(".flash").wait_for()
    assert "已同意联动申请" in page.locator(".flash").inner_text()
    view = svc.get_dispute(d["id"])
    assert view["links"][0]["state"] == "approved"
    assert any(h["body_type"] == "expert_panel" and h["role"] == "assist" for h in view["handoffs"])
    screenshot(page, "link-approved")


def test_a_grid_worker_reports_on_a_phone(site, page, svc):
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    sign_in(page, site, "grid")
    page.wait_for_url("**/grid")
    assert accessible(page) == []
    c = county(svc)
    village = svc.ctx.config.divisions.get(c["v"])
    town = svc.ctx.config.divisions.get(village.parent)
    page.get_by_label("纠纷类别").select_option("NEIGHBOUR")
    page.get_by_label("发生了什么").fill("两户因排水沟堵塞争吵")
    page.get_by_label("区县").select_option(town.parent)
    page.wait_for_timeout(300)
    page.get_by_label("乡镇（街道）").select_option(town.code)
    page.wait_for_timeout(300)
    page.get_by_label("村（社区）").select_option(village.code)
    page.get_by_label("当事人一（申请人）姓名").fill("赵六")
    page.get_by_label("当事人一手机号").fill("13712345678")
    page.get_by_label("当事人二（对方）姓名").fill("钱七")
    page.get_by_label("已当场化解").check()
    page.get_by_label("和解内容").fill("当场疏通排水沟，双方和好")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.get_by_role("button", name="上报").click()
    page.wait_for_url("**/grid/done/**")
    assert "网格当场化解" in page.locator("#outcome").inner_text()
    assert accessible(page) == []
    screenshot(page, "grid-report")
    d = svc.list_disputes(DisputeFilter())["items"][0]
    assert d["source"] == "grid" and d["tier"] == "grid"
