"""Division-scoped staff (issue 14 item 9, docs/api.md §2): a user added with `--division` sees and
acts on that division's subtree only; a dispute outside it is absent from every list, queue, lookup,
report, export and warning, and answers 404 as if it did not exist. Which routes answer what to whom
is test_access_matrix.py; this file checks what the answers hold."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

import pytest

from router.server import application
from router.services.context import Actor
from router.services.queues import QueueFilter
from tests.builders import body, command, register
from tests.conftest import auth
from tests.e2e.web_client import PASSWORD, csrf_of, sign_in

TOWN_A, TOWN_B, DISTRICT = "330681104000", "330681109000", "330681000000"  # 店口镇, 枫桥镇, 诸暨市
DAYS = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def towns(svc: Any) -> dict[str, Any]:
    tree = svc.ctx.config.divisions
    village = {t: tree.children(t)[0].code for t in (TOWN_A, TOWN_B)}
    made = {"a": [register(svc, village[TOWN_A]) for _ in range(2)], "b": [register(svc, village[TOWN_B])]}
    sup = svc.add_user("sup-a", "supervisor", PASSWORD, division=TOWN_A)
    clerk = svc.add_user("clerk-a", "clerk", PASSWORD, division=TOWN_A)
    whole = svc.add_user("sup-all", "supervisor")
    return {"village": village, **made, "sup": sup, "clerk": clerk, "whole": whole,
            "ids_a": {d["id"] for d in made["a"]}, "id_b": made["b"][0]["id"]}


def get(client: Any, path: str, token: str, **params: Any) -> Any:
    return client.get(path, headers=auth(token), query_string=params)


def test_the_dispute_list_holds_only_the_towns_disputes(client, towns):
    mine = get(client, "/api/v1/disputes", towns["sup"]).json
    everyone = get(client, "/api/v1/disputes", towns["whole"]).json
    assert {d["id"] for d in mine["items"]} == towns["ids_a"] and mine["total"] == 2
    assert towns["id_b"] in {d["id"] for d in everyone["items"]} and everyone["total"] == 3


def test_another_towns_dispute_is_absent_not_forbidden(client, towns, svc):
    b = towns["id_b"]
    for path in (f"/api/v1/disputes/{b}", f"/api/v1/disputes/{b}/timeline", f"/api/v1/disputes/{b}/archive"):
        r = get(client, path, towns["sup"])
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found", path
    before = svc.get_dispute(b)
    r = client.post(f"/api/v1/disputes/{b}/actions", headers=auth(towns["sup"]),
                    json={"action": "urge", "reason": "请尽快签收"})
    assert r.status_code == 404
    assert svc.get_dispute(b) == before  # nothing changed, not even an urge event
    assert get(client, f"/api/v1/disputes/{b}", towns["whole"]).status_code == 200


def test_queues_count_only_the_town(svc, towns):
    sup = svc.authenticate(towns["sup"])
    assert sup is not None and sup.division == TOWN_A
    mine = svc.queue(QueueFilter("needs_supervisor"), sup)
    whole = svc.queue(QueueFilter("needs_supervisor"))
    for name, n in mine["counts"].items():
        assert n <= whole["counts"][name], name
    assert towns["id_b"] not in {i["dispute_id"] for i in mine["items"]}
    # A filter by another town is absent, not an empty queue that looks real; by the district, the town.
    with pytest.raises(Exception, match="outside your area"):
        svc.queue(QueueFilter("overdue", division=TOWN_B), sup)
    assert svc.queue(QueueFilter("overdue", division=DISTRICT), sup)["counts"] == mine["counts"]


def test_the_reports_are_of_the_town(client, towns):
    def received(token: str, **q: Any) -> int:
        r = get(client, "/api/v1/reports/kpis", token, **DAYS, **q)
        assert r.status_code == 200, r.text
        return next(k["value"] for k in r.json["kpis"] if k["code"] == "received")

    assert received(towns["whole"]) == 3
    assert received(towns["sup"]) == 2
    assert received(towns["sup"], division=DISTRICT) == 2  # an ancestor: what of it they may see
    behind = get(client, "/api/v1/reports/kpis/received/disputes", towns["sup"], **DAYS).json
    assert {d["id"] for d in behind["items"]} == towns["ids_a"]
    r = get(client, "/api/v1/reports/kpis", towns["sup"], **DAYS, division=TOWN_B)
    assert r.status_code == 404 and "division" in r.json["error"]["fields"]
    rows = get(client, "/api/v1/reports/divisions", towns["sup"], **DAYS, level="town").json
    assert {row["division"] for row in rows["divisions"] if row["received"]} == {TOWN_A}
    assert rows["total"]["received"] == 2
    csv_rows = list(csv.reader(io.StringIO(get(client, "/api/v1/reports/kpis", towns["sup"], **DAYS,
                                               format="csv").text)))
    assert any(row and row[0] in ("received", "受理数") and "2" in row for row in csv_rows)


def test_lookup_and_preview_show_nothing_of_another_town(svc, towns):
    sup = svc.authenticate(towns["sup"])
    ref_b = towns["b"][0]["reference"]
    assert svc.lookup(ref_b, viewer=sup) == [] and len(svc.lookup(ref_b)) == 1
    # The same applicant again: the whole centre sees the earlier registration as a likely duplicate,
    # the town's clerk (whose town it is not) does not learn of it.
    again = body(towns["village"][TOWN_A])
    first = body(towns["village"][TOWN_B])
    first["parties"][0]["id_number"] = again["parties"][0]["id_number"]
    first["parties"][0]["phone"] = again["parties"][0]["phone"]
    svc.register_dispute(command(first), Actor("user", "x", "clerk"))
    clerk = svc.authenticate(towns["clerk"])
    assert svc.preview(command(again))["likely_duplicates"]
    assert svc.preview(command(again), clerk)["likely_duplicates"] == []


def test_a_scoped_clerk_registers_in_the_town_only(client, towns):
    ok = client.post("/api/v1/disputes", headers=auth(towns["clerk"]), json=body(towns["village"][TOWN_A]))
    assert ok.status_code == 201, ok.text
    r = client.post("/api/v1/disputes", headers=auth(towns["clerk"]), json=body(towns["village"][TOWN_B]))
    assert r.status_code == 422 and "division" in r.json["error"]["fields"]


def test_the_web_pages_of_a_scoped_supervisor(svc, towns):
    web = application(svc).test_client()
    assert sign_in(web, "sup-a").status_code in (302, 303)
    page = web.get("/supervise?queue=needs_supervisor").text
    assert all(d["reference"] not in page for d in towns["b"])
    assert web.get(f"/disputes/{towns['id_b']}").status_code == 404
    assert web.get(f"/disputes/{next(iter(towns['ids_a']))}").status_code == 200
    # The division choices on the reports page are the town's, not the whole centre's.
    reports = web.get("/reports", query_string=DAYS).text
    choices = re.search(r'<select[^>]*name="division".*?</select>', reports, re.S)
    assert choices and TOWN_A in choices.group(0) and TOWN_B not in choices.group(0)
    export = web.get("/reports/export/kpis", query_string={**DAYS, "format": "csv"})
    assert export.status_code == 200
    token = csrf_of(web.get("/window/lookup").text)
    found = web.post("/window/lookup", data={"csrf_token": token, "q": towns["b"][0]["reference"]}).text
    assert "找到 0 件" in found and towns["b"][0]["id"] not in found


def test_the_digest_is_of_the_town(svc, towns):
    sup = svc.authenticate(towns["sup"])
    mine = svc.digest(None, "month", date(2026, 11, 30), sup)
    assert mine["division"] == TOWN_A and mine["total"]["received"] == 2
    with pytest.raises(Exception, match="outside your area"):
        svc.digest(TOWN_B, "month", None, sup)


def test_warnings_of_other_places_are_not_shown(svc, towns):
    from router.store.report_models import Signal

    now = svc.ctx.now()
    with svc.ctx.store.unit_of_work() as uow:
        for key, division in (("cluster:a", towns["village"][TOWN_A]), ("cluster:b", towns["village"][TOWN_B])):
            uow.session.add(Signal(key=key, kind="cluster", detail={"why": "test"}, division=division,
                                   raised_at=now))
    sup = svc.authenticate(towns["sup"])
    assert {s["key"] for s in svc.warnings_report(viewer=sup)["signals"]} == {"cluster:a"}
    assert {"cluster:a", "cluster:b"} <= {s["key"] for s in svc.warnings_report()["signals"]}


def test_user_add_refuses_a_division_outside_the_centre(svc):
    with pytest.raises(Exception, match="unknown division"):
        svc.add_user("nowhere", "supervisor", division="110101000000")
    with pytest.raises(Exception, match="unknown division"):
        svc.add_user("nowhere", "supervisor", division="3306811")
