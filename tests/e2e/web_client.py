"""Signing in and filling the web forms through Flask's test client: the fixtures and helpers the web
tests share."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from router.store.models import Dispute
from tests.builders import BJ, county, unique_person

PASSWORD = "correct-horse-1"
REFERENCE = re.compile(r"诸暨调〔2026〕\d+号")
HTMX = {"HX-Request": "true"}


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the page has no CSRF token"
    return m.group(1)


def sign_in(client: Any, name: str, password: str = PASSWORD, **kw: Any) -> Any:
    token = csrf_of(client.get("/login", **kw).text)
    return client.post("/login", data={"csrf_token": token, "username": name, "password": password}, **kw)


def disputes_stored(svc: Any) -> int:
    with svc.ctx.store.read() as s:
        return s.scalar(select(func.count()).select_from(Dispute)) or 0


def place(svc: Any) -> dict[str, str]:
    """区县 / 乡镇 / 村 of the county's village, as the form's three selects post them."""
    tree = svc.ctx.config.divisions
    village = county(svc)["v"]
    town = tree.get(village).parent
    return {"district": tree.get(town).parent, "town": town, "village": village}


def intake_form(svc: Any, token: str, **over: str) -> dict[str, str]:
    """What the intake form posts for a person against a company (body() of the builders, by hand),
    with an applicant of its own (`unique_person`)."""
    where = place(svc)
    id_number, phone = unique_person()
    data = {"csrf_token": token, "submission": uuid.uuid4().hex, "source": "walk_in", "source_ref": "",
            "category": "NEIGHBOUR", "summary": "楼上漏水损坏楼下装修", "occurred_on": "2026-10-01",
            "amount": "12000.00", "people_involved": "1", "wish": "mediation", **where,
            "parties-0-role": "applicant", "parties-0-kind": "person", "parties-0-name": "张三",
            "parties-0-id_number": id_number, "parties-0-phone": phone, "parties-0-credit_code": "",
            "parties-0-division": where["village"], "parties-0-consent": "1", "parties-1-consent": "1",
            "parties-1-role": "respondent", "parties-1-kind": "organization", "parties-1-name": "某建筑公司",
            "parties-1-id_number": "", "parties-1-phone": "", "parties-1-credit_code": "",
            "parties-1-division": where["village"], "action": "submit"}
    data.update(over)
    return data


def window_token(client: Any) -> str:
    r = client.get("/window")
    assert r.status_code == 200
    return csrf_of(r.text)


def register_on_web(clerk: Any, svc: Any, **over: str) -> tuple[str, dict[str, str]]:
    """Submit the intake form; returns the new dispute's id and the form as posted."""
    data = intake_form(svc, window_token(clerk), **over)
    r = clerk.post("/window", data=data)
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"(?:http://localhost)?/disputes/([^/]+)/receipt", r.headers["Location"])
    assert m, r.headers["Location"]
    return m.group(1), data


def local(iso: str) -> str:
    """An instant as the pages print it (Beijing wall clock)."""
    return datetime.fromisoformat(iso).astimezone(BJ).strftime("%Y-%m-%d %H:%M")


def set_cookie(resp: Any) -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("router_session=")]
    assert cookies, resp.headers
    return cookies[-1]


def path_of(location: str) -> str:
    return location.removeprefix("http://localhost").removeprefix("https://localhost")
