"""Input that used to answer 500 (issue 14, items 3 and 4: the outside probe's reproductions). Each is
a 400 or a 422 naming the field, changes nothing, and leaves no personal text in any log line; and
money reads back exactly as it was sent, on SQLite too."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from router.store.models import Dispute
from tests.builders import body, county

SECRET_NAME, SECRET_SUMMARY = "欧阳秘密", "邻居秘密纠纷摘要"


def _post_raw(client: Any, token: str, raw: str | bytes) -> Any:
    return client.post("/api/v1/disputes", data=raw, content_type="application/json",
                       headers={"Authorization": f"Bearer {token}"})


def _count(svc: Any) -> int:
    with svc.ctx.store.read() as s:
        return int(s.scalar(select(func.count()).select_from(Dispute)))


def _no_personal_text(caplog: Any) -> None:
    for record in caplog.records:
        text = record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        assert SECRET_NAME not in text and SECRET_SUMMARY not in text, record


@pytest.fixture
def valid(svc: Any) -> dict[str, Any]:
    b = body(county(svc)["v"], summary=SECRET_SUMMARY)
    b["parties"][0]["name"] = SECRET_NAME
    return b


@pytest.mark.parametrize("where", ["summary", "nested"])
def test_json_nested_990_deep_is_a_400(client, tokens, svc, valid, caplog, where):
    deep = "[" * 990 + "]" * 990
    raw = json.dumps(valid, ensure_ascii=False).replace(f'"{SECRET_SUMMARY}"', deep) if where == "summary" else deep
    r = _post_raw(client, tokens["clerk"], raw)
    assert r.status_code in (400, 422), r.get_data(as_text=True)[:300]
    assert r.json["error"]["fields"], r.json
    assert _count(svc) == 0


@pytest.mark.parametrize(("field", "path"), [("summary", "summary"), ("name", "parties.0.name")])
@pytest.mark.parametrize("bad", ["\\ud800", "\\udfff", "a\\ud83d"], ids=["high", "low", "half-pair"])
def test_a_lone_surrogate_is_a_422_naming_the_field(client, tokens, svc, valid, caplog, field, path, bad):
    raw = json.dumps(valid, ensure_ascii=True)
    target = SECRET_SUMMARY if field == "summary" else SECRET_NAME
    raw = raw.replace(json.dumps(target, ensure_ascii=True), f'"{bad}x"')
    r = _post_raw(client, tokens["clerk"], raw)
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert path in r.json["error"]["fields"], r.json
    assert _count(svc) == 0
    _no_personal_text(caplog)


@pytest.mark.parametrize(("field", "path"), [("summary", "summary"), ("name", "parties.0.name"),
                                            ("source_ref", "source_ref")])
def test_a_nul_character_is_a_422_naming_the_field(client, tokens, svc, valid, caplog, field, path):
    if field == "summary":
        valid["summary"] = SECRET_SUMMARY + "\x00"
    elif field == "name":
        valid["parties"][0]["name"] = SECRET_NAME + "\x00"
    else:
        valid["source_ref"] = "A\x00B"
    caplog.set_level(logging.DEBUG)
    r = client.post("/api/v1/disputes", json=valid, headers={"Authorization": f"Bearer {tokens['clerk']}"})
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert path in r.json["error"]["fields"], r.json
    assert _count(svc) == 0
    _no_personal_text(caplog)


@pytest.mark.parametrize("amount", ["100000000000000.00", "100000000000000", "1e14", 1e14, 100000000000000,
                                    "99999999999999.99", "10000000000000.00"])
def test_an_amount_the_column_cannot_hold_is_a_422(client, tokens, svc, valid, amount):
    valid["amount"] = amount
    r = client.post("/api/v1/disputes", json=valid, headers={"Authorization": f"Bearer {tokens['clerk']}"})
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert "amount" in r.json["error"]["fields"], r.json
    assert _count(svc) == 0


@pytest.mark.parametrize("amount", ["9999999999999.99", "9999999999999.90", "1234567890123.45", "0.01", "0.00",
                                    "7036874417766.41", "4503599627370.49", "12000.00"])
def test_money_reads_back_exactly_as_sent(client, tokens, svc, valid, amount):
    valid["amount"] = amount
    auth = {"Authorization": f"Bearer {tokens['clerk']}"}
    r = client.post("/api/v1/disputes", json=valid, headers=auth)
    assert r.status_code == 201, r.json
    assert r.json["amount"] == amount
    again = client.get(f"/api/v1/disputes/{r.json['id']}", headers=auth)
    assert again.json["amount"] == amount
    with svc.ctx.store.read() as s:
        assert str(s.get(Dispute, r.json["id"]).amount) == amount


def test_a_database_error_names_no_parameter(svc):
    """What reaches a log line when a statement fails carries no parameter (a name, a summary)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as e, svc.ctx.store.engine.connect() as conn:
        conn.execute(text("SELECT CAST(:who AS INTEGER) / 0 FROM nowhere"), {"who": SECRET_NAME})
    assert SECRET_NAME not in str(e.value)
