"""A database that went away (restarted, failed over) answers 503 with Retry-After, not 500: the
request's transaction rolled back and the same request shortly will work (store/db.py
`unavailable`). bench/soak.py restarts PostgreSQL for real; here the error is the driver's own."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from router.server import application
from tests.builders import register
from tests.conftest import auth
from tests.e2e.web_client import PASSWORD, sign_in


def _gone(*_a, **_k):
    raise OperationalError("SELECT 1", {}, Exception("terminating connection due to administrator command"))


def test_the_api_says_503_with_retry_after(svc, client, tokens, monkeypatch):
    d = register(svc)
    monkeypatch.setattr(type(svc), "get_dispute", _gone)
    r = client.get(f"/api/v1/disputes/{d['id']}", headers=auth(tokens["supervisor"]))
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert r.json["error"]["code"] == "unavailable"


def test_a_page_says_503_in_chinese(svc, monkeypatch):
    d = register(svc)
    svc.add_user("sup-db", "supervisor", PASSWORD)
    web = application(svc).test_client()
    assert sign_in(web, "sup-db").status_code in (302, 303)
    monkeypatch.setattr(type(svc), "get_dispute", _gone)
    r = web.get(f"/disputes/{d['id']}")
    assert r.status_code == 503 and r.headers["Retry-After"] == "2" and "数据库暂时不可用" in r.text


@pytest.mark.parametrize("err", [ValueError("a bug"), RuntimeError("another")])
def test_other_errors_stay_500(svc, client, tokens, monkeypatch, err):
    def broken(*_a, **_k):
        raise err
    d = register(svc)
    monkeypatch.setattr(type(svc), "get_dispute", broken)
    assert client.get(f"/api/v1/disputes/{d['id']}", headers=auth(tokens["supervisor"])).status_code == 500
