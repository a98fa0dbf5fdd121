"""网格员上报 over HTTP and on its page: the grid role registers through the same API (always source
grid) and a phone-sized page; 当场化解 by a grid worker counts as resolved at the grid tier."""

from __future__ import annotations

import re
from datetime import date

from tests.builders import body, county
from tests.e2e.web_client import PASSWORD, csrf_of, place, sign_in


def test_a_grid_worker_reports_over_the_api_as_source_grid(live, svc):
    token = svc.add_user("grid-api", "grid")
    grid = {"Authorization": f"Bearer {token}"}
    r = live.post("/api/v1/disputes", body(county(svc)["v"]), role=None, headers=grid)
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "grid"
    assert live.get("/api/v1/disputes", role=None, headers=grid).status_code == 403


def test_the_grid_page_reports_and_settles_on_the_spot(svc, web):
    svc.add_user("grid-web", "grid", PASSWORD)
    c = web.test_client()
    assert sign_in(c, "grid-web").status_code == 303
    page = c.get("/grid")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text and 'for="f-summary"' in page.text
    assert c.get("/window").status_code == 403 and c.get("/supervise").status_code == 403
    where = place(svc)
    data = {"csrf_token": csrf_of(page.text), "category": "NEIGHBOUR", "summary": "两户因排水沟堵塞争吵", **where,
            "parties-0-role": "applicant", "parties-0-name": "赵六", "parties-0-phone": "13712345678",
            "parties-0-consent": "1", "parties-1-role": "respondent", "parties-1-name": "钱七",
            "parties-1-consent": "1", "on_spot": "1", "disposition-terms": "当场疏通排水沟，双方和好"}
    bad = c.post("/grid", data={**data, "summary": ""})
    assert bad.status_code == 422 and 'id="err-summary"' in bad.text
    r = c.post("/grid", data=data)
    assert r.status_code == 303, r.text
    dispute_id = re.search(r"/grid/done/([^/]+)$", r.headers["Location"]).group(1)
    d = svc.get_dispute(dispute_id)
    assert d["source"] == "grid" and d["tier"] == "grid" and d["state"] == "follow_up" and d["outcome"]["on_spot"]
    assert "网格当场化解" in c.get(r.headers["Location"]).text
    day = date(2026, 11, 23)
    k = {x["code"]: x for x in svc.kpi_report({"from_": day, "to": day})["kpis"]}
    assert k["local_resolution_rate"]["numerator"] == 1
