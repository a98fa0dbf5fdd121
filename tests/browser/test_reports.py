"""The 报表 pages in Debian's headless Chromium: the dashboard's cards and heat table, a card's link to
the disputes behind it, the export links as downloads, the breakdown chart drawn, the accessibility
check on every report page, and screenshots of each under var/screenshots/."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.browser.conftest import accessible, screenshot, sign_in
from tests.builders import county
from tests.scenarios import build

NOV = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def scenarios(svc, clock):
    return build(svc, clock)


def test_the_dashboard_cards_heat_table_and_a_card_link(site, page, svc, scenarios):
    sign_in(page, site, "supervisor")
    page.goto(f"{site}/reports?{NOV}")
    cards = page.locator("ul.cards li.card")
    assert cards.count() == 15  # one per KPI (docs/reports.md §1)
    success = cards.filter(has=page.get_by_role("heading", name="调解成功率"))
    assert success.locator(".figure").inner_text() == "80.0%"
    assert "4 / 5" in success.locator(".parts").inner_text() and "未达标" in success.inner_text()
    town = svc.ctx.config.divisions.get(county(svc)["v"]).parent
    row = page.locator("table.heat tbody tr").filter(has_text=svc.ctx.config.divisions.get(town).name)
    assert row.locator("td").first.get_attribute("class") == "heat-hot"
    page.locator("#breakdown-chart svg").wait_for()  # ECharts drew the breakdown
    screenshot(page, "reports-dashboard")

    page.get_by_role("link", name="超期率").filter(has_text="查看明细").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "超期率：纠纷明细"
    assert page.get_by_role("link", name=scenarios["S9"]["reference"]).count() == 1
    screenshot(page, "reports-behind")


def test_the_export_links_download_files(site, page, svc, scenarios):
    sign_in(page, site, "supervisor")
    page.goto(f"{site}/reports?{NOV}")
    with page.expect_download() as got:
        page.locator("ul.exports li").first.get_by_role("link", name="CSV").click()
    with open(got.value.path(), encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert got.value.suggested_filename.endswith(".csv") and rows[0][:2] == ["分组代码", "分组"]
    with page.expect_download() as got:
        page.locator("ul.exports li").nth(1).get_by_role("link", name="XLSX").click()
    with open(got.value.path(), "rb") as f:
        sheet = openpyxl.load_workbook(io.BytesIO(f.read())).active
    assert sheet.cell(1, 2).value == "辖区" and got.value.suggested_filename.endswith(".xlsx")


def test_every_report_page_passes_the_accessibility_check(site, page, svc, scenarios):
    sign_in(page, site, "supervisor")
    town = svc.ctx.config.divisions.get(county(svc)["v"]).parent
    pages = {"reports-by-tier": f"/reports?{NOV}&group_by=tier", "reports-town": f"/reports?{NOV}&division={town}",
             "reports-agencies": f"/reports/agencies?{NOV}",
             "reports-digest": f"/reports/digest?division={town}&period=month&end=2026-11-30",
             "reports-screen": f"/reports?{NOV}&screen=1",
             "reports-bad-filter": "/reports?from=2026-11-30&to=2026-11-01",
             "supervise-warnings": "/supervise?queue=warnings"}
    svc.refresh_warnings()
    for name, path in pages.items():
        page.goto(site + path)
        assert accessible(page) == [], name
        screenshot(page, name)
