"""The 报表 pages through Flask's client: the dashboard's cards, breakdown and heat table, the disputes
behind a card, the exports, the agency table, the 研判 digest (page, PDF, CSV), the 大屏, the 预警 tab,
and the case file from the dispute page. The figures are the hand-built set of tests/scenarios.py."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile

import openpyxl
import pytest

from router.services import Actor
from tests.builders import county, register
from tests.scenarios import build

NOV = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def scenarios(svc, clock):
    return build(svc, clock)


def test_the_dashboard_shows_every_card_with_its_parts_and_target(supervisor, scenarios):
    r = supervisor.get("/reports", query_string=NOV)
    assert r.status_code == 200
    assert '<html lang="zh-CN">' in r.text
    card = re.search(r'<li class="card bad">\s*<h3>调解成功率</h3>\s*<p class="figure">80.0%</p>\s*'
                     r'<p class="parts">4 / 5（n = 5）</p>', r.text)
    assert card, "the success-rate card with 80.0 %, 4 / 5 and n = 5"
    assert "目标 98% · <span class=\"missed\">未达标</span>" in r.text
    assert '<label for="r-from">开始日期</label>' in r.text and '<label for="r-agency">承办单位</label>' in r.text


def test_a_card_links_to_the_disputes_it_counts(supervisor, scenarios):
    page = supervisor.get("/reports", query_string=NOV).text
    link = re.search(r'<a href="(/reports/disputes\?kpi=overdue_rate[^"]*)"', page).group(1)
    r = supervisor.get(link.replace("&amp;", "&"))
    assert r.status_code == 200 and "超期率：纠纷明细" in r.text
    assert scenarios["S9"]["reference"] in r.text and scenarios["S1"]["reference"] not in r.text
    denominator = supervisor.get(link.replace("&amp;", "&") + "&part=denominator").text
    assert scenarios["S1"]["reference"] in denominator  # acknowledged in November


def test_the_breakdown_tabs_and_the_heat_table(supervisor, svc, scenarios):
    r = supervisor.get("/reports", query_string={**NOV, "group_by": "tier"})
    assert 'aria-current="page">按层级</a>' in r.text and "data-chart=" in r.text
    assert "<th scope=\"row\">区(县)</th>" in r.text
    town = svc.ctx.config.divisions.get(county(svc)["v"]).parent
    name = svc.ctx.config.divisions.get(town).name
    row = re.search(rf'<th scope="row"><a href="[^"]*division={town}[^"]*">{name}</a></th>(.*?)</tr>', r.text, re.S)
    assert row and 'class="heat-hot">8 <small>偏高</small>' in row.group(1)  # colour and the same in words
    drill = supervisor.get("/reports", query_string={**NOV, "division": town}).text
    assert "各村（社区）" in drill


def test_a_bad_filter_is_said_beside_its_field(supervisor, scenarios):
    r = supervisor.get("/reports", query_string={"from": "2026-11-30", "to": "2026-11-01"})
    assert r.status_code == 422
    assert '<small class="error" id="r-to-err">结束日期不能早于开始日期。</small>' in r.text
    r = supervisor.get("/reports", query_string={**NOV, "category": "NOPE"})
    assert r.status_code == 422 and "纠纷类别不存在" in r.text


def test_the_export_links_download_files(supervisor, scenarios):
    page = supervisor.get("/reports", query_string=NOV).text
    links = [h.replace("&amp;", "&") for h in re.findall(r'<a href="(/reports/export/[^"]+)" download>', page)]
    assert len(links) == 6
    for link in links:
        r = supervisor.get(link)
        assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"], link
        if "format=csv" in link:
            rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
            assert len(rows) > 1
        else:
            assert openpyxl.load_workbook(io.BytesIO(r.data)).active.max_row > 1


def test_the_agency_table(supervisor, scenarios):
    r = supervisor.get("/reports/agencies", query_string=NOV)
    assert r.status_code == 200 and "第 1 名" in r.text and "签收用时（中位/P90，小时）" in r.text


def test_the_digest_page_pdf_and_csv(supervisor, svc, scenarios):
    town = svc.ctx.config.divisions.get(county(svc)["v"]).parent
    q = {"division": town, "period": "month", "end": "2026-11-30"}
    r = supervisor.get("/reports/digest", query_string=q)
    assert r.status_code == 200 and "月度研判（2026-11-01 至 2026-11-30）" in r.text
    assert "本期受理 <strong>8</strong> 件" in r.text and '<span class="tag">邻里纠纷</span>' in r.text
    rows = list(csv.reader(io.StringIO(supervisor.get("/reports/digest", query_string={**q, "format": "csv"})
                                       .data.decode("utf-8-sig"))))
    assert ["总体", "受理数", "8", "1", ""] in rows
    pdf = supervisor.get("/reports/digest", query_string={**q, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout
        assert "矛盾纠纷研判材料" in text.decode()
    bad = supervisor.get("/reports/digest", query_string={"division": county(svc)["v"]})
    assert bad.status_code == 422 and "研判只针对" in bad.text


def test_the_wall_screen(supervisor, scenarios):
    r = supervisor.get("/reports", query_string={**NOV, "screen": "1"})
    assert r.status_code == 200 and 'class="screen"' in r.text and "退出大屏" in r.text


def test_the_warnings_tab_counts_and_lists_signals(supervisor, svc, clock):
    register(svc, risk_flags=["domestic_violence"])
    svc.refresh_warnings()
    r = supervisor.get("/supervise", query_string={"queue": "warnings"})
    assert r.status_code == 200
    assert re.search(r'预警 <span class="count">1</span>', r.text)
    assert "高风险纠纷在办" in r.text and "涉家庭暴力" in r.text


def test_clerks_may_not_open_reports(clerk):
    assert clerk.get("/reports").status_code == 403
    assert clerk.get("/reports/digest").status_code == 403


def test_the_case_file_from_the_dispute_page_and_the_archive_action(supervisor, svc, scenarios):
    d = scenarios["S4"]  # closed: guided to litigation
    page = supervisor.get(f"/disputes/{d['id']}").text
    assert f'href="/disputes/{d["id"]}/archive" download' in page and "归档" in page
    r = supervisor.get(f"/disputes/{d['id']}/archive")
    assert r.status_code == 200 and svc.check_case_file(r.data).ok
    assert "case-file.pdf" in zipfile.ZipFile(io.BytesIO(r.data)).namelist()
    svc.act(d["id"], {"action": "archive", "reason": "归档"}, Actor("user", "s", "supervisor"))
    assert "案卷已封存" in supervisor.get(f"/disputes/{d['id']}").text
