"""The reports over real HTTP (docs/api.md §10): JSON, CSV and XLSX of the same figures, the errors of
a bad query, and who may read them. The figures are the hand-built set of tests/scenarios.py."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import select, update

from router.store.models import Agency
from tests.builders import county, lead_of
from tests.scenarios import build

NOV = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def scenarios(svc, clock):
    return build(svc, clock)


def test_the_kpis_answer_as_the_contract_shows(live, scenarios):
    r = live.get("/api/v1/reports/kpis", params=NOV)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["from"], body["to"]) == ("2026-11-01", "2026-11-30")
    k = {x["code"]: x for x in body["kpis"]}
    want = {"name": "调解成功率", "numerator": 4, "denominator": 5, "value": 0.8, "target": 0.98}
    assert {key: k["success_rate"][key] for key in want} == want
    assert k["received"]["value"] == 9 and "groups" not in body


def test_group_by_tier_over_http(live, scenarios):
    body = live.get("/api/v1/reports/kpis", params={**NOV, "group_by": "tier"}).json()
    names = {g["key"]: g["name"] for g in body["groups"]}
    assert names["district"] == "区(县)" and body["group_by"] == "tier"


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-11-30", "to": "2026-11-01"}, "to"),
    ({"from": "2020-01-01", "to": "2026-11-30"}, "to"),
    ({**NOV, "category": "NOPE"}, "category"),
    ({**NOV, "division": "330681999999"}, "division"),
    ({**NOV, "agency": "NOPE"}, "agency"),
    ({**NOV, "group_by": "colour"}, "group_by"),
    ({**NOV, "colour": "red"}, "colour"),
    ({"to": "2026-11-30"}, "from"),
    ({**NOV, "format": "pdf"}, "format"),
])
def test_a_bad_query_is_a_422_naming_the_field(live, svc, params, field):
    r = live.get("/api/v1/reports/kpis", params=params)
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["fields"], r.json()


def test_a_chinese_message_for_a_reversed_period(live, svc):
    r = live.get("/api/v1/reports/kpis", params={"from": "2026-11-30", "to": "2026-11-01"})
    assert r.json()["error"]["fields"]["to"] == ["结束日期不能早于开始日期。"]


def test_only_supervisors_and_admins_read_reports(live, svc):
    assert live.get("/api/v1/reports/kpis", params=NOV, role=None).status_code == 401
    assert live.get("/api/v1/reports/kpis", params=NOV, role="clerk").status_code == 403
    assert live.get("/api/v1/reports/warnings", role="admin").status_code == 200


def _csv(r) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_csv_by_accept_header_and_by_format(live, scenarios):
    by_accept = _csv(live.get("/api/v1/reports/kpis", params=NOV, headers={"Accept": "text/csv"}))
    by_format = _csv(live.get("/api/v1/reports/kpis", params={**NOV, "format": "csv"}))
    assert by_accept == by_format
    assert by_accept[0][:2] == ["指标代码", "指标"]
    rows = {r[0]: r for r in by_accept[1:]}
    assert rows["success_rate"][1:5] == ["调解成功率", "4", "5", "0.8"]


def test_csv_and_xlsx_of_the_agencies_keep_chinese_codes_and_neutralise_formulas(live, svc, scenarios):
    code = lead_of(scenarios["S4"])["agency"]
    with svc.ctx.store.unit_of_work() as uow:
        original = uow.session.scalar(select(Agency.name).where(Agency.code == code))
        uow.session.execute(update(Agency).where(Agency.code == code).values(name='=HYPERLINK("http://x","点我")'))
    svc.ctx.invalidate_registry()
    try:
        _check_agencies_exports(live, code)
    finally:  # the agencies are seeded once for the whole session: later tests read this name
        with svc.ctx.store.unit_of_work() as uow:
            uow.session.execute(update(Agency).where(Agency.code == code).values(name=original))
        svc.ctx.invalidate_registry()


def _check_agencies_exports(live, code: str) -> None:
    rows = _csv(live.get("/api/v1/reports/agencies", params={**NOV, "format": "csv"}))
    named = {r[0]: r for r in rows[1:]}
    assert named[code][1] == "'=HYPERLINK(\"http://x\",\"点我\")"
    assert rows[0][:3] == ["单位代码", "单位", "层级"]

    r = live.get("/api/v1/reports/agencies", params={**NOV, "format": "xlsx"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert cells[code][0].data_type == "s"  # the code is text
    assert cells[code][1].data_type == "s" and cells[code][1].value.startswith("=HYPERLINK")  # text, not a formula


def test_the_divisions_report_keeps_twelve_digit_codes_as_text_in_xlsx(live, svc, scenarios):
    r = live.get("/api/v1/reports/divisions", params={**NOV, "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    codes = [row[0] for row in sheet.iter_rows(min_row=2) if row[0].value and row[1].value != "合计"]
    assert codes and all(c.data_type == "s" and len(c.value) == 12 for c in codes)
    town = svc.ctx.config.divisions.get(county(svc)["v"]).parent
    names = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert names[town] == svc.ctx.config.divisions.get(town).name  # Chinese intact


def test_the_disputes_behind_a_figure_over_http(live, scenarios):
    r = live.get("/api/v1/reports/kpis/overdue_rate/disputes", params=NOV)
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [scenarios["S9"]["id"]]
    assert live.get("/api/v1/reports/kpis/nope/disputes", params=NOV).status_code == 404
    assert live.get("/api/v1/reports/kpis/received/disputes",
                    params={**NOV, "part": "denominator"}).status_code == 422
