"""Bad input over real HTTP: documented status, a body naming the field, and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from router.store.models import Counter, Dispute, Event, Handoff, IdempotencyKey, Outbox, Party, Timer
from tests.builders import body, county

TABLES = (Dispute, Party, Handoff, Event, Outbox, Timer, IdempotencyKey, Counter)


def snapshot(svc) -> dict[str, int]:
    with svc.ctx.store.read() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in TABLES}


def _mutate(b: dict[str, Any], case: str) -> dict[str, Any]:
    if case == "unknown_field":
        b["colour"] = "red"
    elif case == "unknown_party_field":
        b["parties"][0]["nickname"] = "三儿"
    elif case == "bad_id_check_digit":
        b["parties"][0]["id_number"] = "110101199003074515"
    elif case == "bad_phone":
        b["parties"][0]["phone"] = "12800138000"
    elif case == "negative_amount":
        b["amount"] = "-1.00"
    elif case == "unknown_category":
        b["category"] = "ALIENS"
    elif case == "unknown_division":
        b["division"] = "999999999999"
    elif case == "malformed_division":
        b["division"] = "3306"
    elif case == "no_respondent":
        b["parties"] = b["parties"][:1]
    elif case == "missing_summary":
        del b["summary"]
    elif case == "bad_risk_flag":
        b["risk_flags"] = ["aliens"]
    elif case == "future_date":
        b["occurred_on"] = "2030-01-01"
    return b


CASES = {  # case -> field named in the error body
    "unknown_field": "colour",
    "unknown_party_field": "parties.0.nickname",
    "bad_id_check_digit": "parties.0.id_number",
    "bad_phone": "parties.0.phone",
    "negative_amount": "amount",
    "unknown_category": "category",
    "unknown_division": "division",
    "malformed_division": "division",
    "no_respondent": "parties",
    "missing_summary": "summary",
    "bad_risk_flag": "risk_flags.0",
    "future_date": "occurred_on",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_422_names_the_field_and_changes_nothing(live, svc, case):
    before = snapshot(svc)
    resp = live.post("/api/v1/disputes", _mutate(body(county(svc)["v"]), case))
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["code"] == "validation_error"
    assert CASES[case] in err["fields"], err
    assert all(err["fields"][CASES[case]])
    assert snapshot(svc) == before


def test_messages_are_chinese_by_default_english_on_request(live, svc):
    b = _mutate(body(county(svc)["v"]), "bad_id_check_digit")
    zh = live.post("/api/v1/disputes", b).json()["error"]
    assert "校验" in zh["fields"]["parties.0.id_number"][0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["message"])
    en = live.post("/api/v1/disputes", b, headers={"Accept-Language": "en-US,en;q=0.9"}).json()["error"]
    assert "check digit" in en["fields"]["parties.0.id_number"][0]
    unknown = live.post("/api/v1/disputes", _mutate(body(county(svc)["v"]), "unknown_field")).json()["error"]
    assert unknown["fields"]["colour"] == ["未知字段，不允许提交。"]


def test_malformed_json_is_400(live, svc):
    before = snapshot(svc)
    resp = live.post("/api/v1/disputes", None, data=b'{"source": "walk_in",',
                     headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "bad_request" and "_body" in resp.json()["error"]["fields"]
    assert snapshot(svc) == before


def test_not_json_is_415(live, svc):
    before = snapshot(svc)
    resp = live.post("/api/v1/disputes", None, data="source=walk_in",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 415 and resp.json()["error"]["code"] == "unsupported_media_type"
    assert snapshot(svc) == before


def test_300_kib_body_is_413(live, svc):
    before = snapshot(svc)
    b = body(county(svc)["v"], summary="纠" * (100 * 1024))  # 300 KiB of UTF-8
    resp = live.post("/api/v1/disputes", b)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"
    assert snapshot(svc) == before


def test_no_token_is_401_and_bad_token_too(live, svc):
    before = snapshot(svc)
    b = body(county(svc)["v"])
    assert live.post("/api/v1/disputes", b, role=None).status_code == 401
    r = live.post("/api/v1/disputes", b, role=None, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert snapshot(svc) == before


def test_wrong_role_is_403(live, svc):
    before = snapshot(svc)
    r = live.post("/api/v1/disputes", body(county(svc)["v"]), role="supervisor")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert live.get("/api/v1/disputes", role="clerk").status_code == 403
    assert snapshot(svc) == before


def test_unknown_dispute_is_404(live):
    r = live.get("/api/v1/disputes/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_a_huge_page_number_is_422_not_500(live, svc, agencies):
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    a = agencies(d["handoffs"][0]["agency"])
    assert a.request("GET", "/api/v1/agency/handoffs?page=100000000000000000000").status_code == 422
    assert live.get("/api/v1/disputes?page=100000000000000000000").status_code == 422
