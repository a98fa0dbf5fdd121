"""The web pages against what a careless or hostile visitor does: a session cookie copied before
退出, a screen left open, framing by another site, sign-in guesses that must not stall the store,
odd characters in numbers, and the workbench after an action done in place (htmx)."""

from __future__ import annotations

import contextlib
import html as htmllib
import re
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from router.domain.model import Feature
from router.services import accounts
from tests.builders import events_of, lead_of, move_past, register
from tests.e2e.web_client import (
    HTMX,
    csrf_of,
    disputes_stored,
    intake_form,
    path_of,
    register_on_web,
    sign_in,
    window_token,
)


# ---------------------------------------------------------------- sessions
def test_a_cookie_copied_before_logout_acts_no_more_after_it(web, svc, users):
    """The cookie holds only a session id; 退出 ends that session on the server, so a copy taken before
    (shared PC, proxy log) is signed out too."""
    d = register(svc)
    c = web.test_client()
    assert sign_in(c, users["supervisor"]).status_code == 303
    token = csrf_of(c.get(f"/disputes/{d['id']}").text)
    stolen = c.get_cookie("router_session").value
    assert c.post("/logout", data={"csrf_token": token}).status_code == 303

    replay = web.test_client()
    replay.set_cookie("router_session", stolen)
    r = replay.post(f"/disputes/{d['id']}/actions", data={
        "csrf_token": token, "action": "urge", "reason": "退出后仍可操作", "next": f"/disputes/{d['id']}"})
    assert r.status_code in (302, 303) and path_of(r.headers["Location"]).startswith("/login")
    assert events_of(svc, d["id"], "handoff.urged") == []


def test_a_password_change_ends_every_session_of_the_user(web, svc, users):
    first, second = web.test_client(), web.test_client()
    for c in (first, second):
        assert sign_in(c, users["clerk"]).status_code == 303
    svc.set_password(users["clerk"], "another-horse-2")
    for c in (first, second):
        assert path_of(c.get("/window").headers["Location"]).startswith("/login")


def test_the_workbench_polling_alone_does_not_keep_a_session_alive(web, svc, users, monkeypatch):
    """The queue refreshes itself every 60 s; those background GETs are not the user's activity, so a
    screen nobody touches signs out after the idle timeout, and the poll sends the page to sign-in."""
    now = [1_000_000.0]
    monkeypatch.setattr("router.web.session.time", SimpleNamespace(time=lambda: now[0]))
    c = web.test_client()
    assert sign_in(c, users["supervisor"]).status_code == 303
    assert 'hx-trigger="every 60s' in c.get("/supervise?queue=overdue").text
    idle = svc.settings.session_idle_minutes
    answers = []
    for _ in range(idle + 2):
        now[0] += 60
        answers.append(c.get("/supervise?queue=overdue", headers=HTMX))
    assert all(r.status_code == 200 for r in answers[: idle - 1])
    redirected = [r for r in answers if "HX-Redirect" in r.headers]
    assert redirected and "idle=1" in redirected[0].headers["HX-Redirect"]
    assert path_of(c.get("/supervise").headers["Location"]).startswith("/login")


def test_a_person_at_the_desk_keeps_the_session(web, svc, users, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr("router.web.session.time", SimpleNamespace(time=lambda: now[0]))
    c = web.test_client()
    assert sign_in(c, users["supervisor"]).status_code == 303
    for _ in range(3):  # a page opened every (idle - 1) minutes, three times over
        now[0] += (svc.settings.session_idle_minutes - 1) * 60
        assert c.get("/supervise?queue=overdue").status_code == 200


def test_pages_may_not_be_framed_and_are_not_cached(supervisor, svc):
    """Framing would let another site clickjack a supervisor's 关闭/改派 dialogs."""
    d = register(svc)
    for path in (f"/disputes/{d['id']}", "/supervise?queue=overdue", "/login"):
        r = supervisor.get(path)
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in r.headers["Cache-Control"]


def test_a_failed_sign_in_does_not_hold_the_store_while_hashing(svc, monkeypatch):
    """argon2 is slow by design; it runs outside any transaction, so guesses at /login cannot stall
    registrations behind SQLite's single writer. The hash is made to take 1 s so a stall shows."""
    if svc.ctx.store.engine.dialect.name != "sqlite":
        pytest.skip("the single write lock is SQLite's")
    real, hashing = accounts._HASHER, threading.Event()

    class Slow:
        def hash(self, password: str) -> str:
            hashing.set()
            time.sleep(1.0)
            return real.hash(password)

        def verify(self, digest: str, password: str) -> bool:
            hashing.set()
            time.sleep(1.0)
            return real.verify(digest, password)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_HASHER", Slow())

    def guess() -> None:
        with contextlib.suppress(accounts.SignInRefused):
            svc.sign_in("nobody-at-all", "guess-123")

    started = time.monotonic()
    register(svc)
    alone = time.monotonic() - started
    t = threading.Thread(target=guess)
    t.start()
    assert hashing.wait(5)
    started = time.monotonic()
    register(svc)
    waited = time.monotonic() - started
    t.join()
    assert waited < alone + 0.5, f"a registration took {waited:.2f} s (alone {alone:.2f} s) behind a guess"


# ---------------------------------------------------------------- odd input
@pytest.mark.parametrize("people", ["²", "③", "１"])
def test_a_non_ascii_digit_in_people_involved_is_said_beside_the_field(clerk, svc, people):
    r = clerk.post("/window", data=intake_form(svc, window_token(clerk), people_involved=people))
    assert r.status_code == 422 and "涉及人数" in r.text


@pytest.mark.parametrize("page", ["²", "1²", "１"])
def test_a_non_ascii_digit_page_is_a_422_page(supervisor, page):
    r = supervisor.get("/supervise", query_string={"queue": "overdue", "page": page})
    assert r.status_code == 422 and "页码" in r.text


@pytest.mark.parametrize(("field", "label"), [("summary", "不能包含空字符"), ("parties-0-name", "不能包含空字符")])
def test_a_nul_typed_into_the_form_is_said_beside_the_field_and_stores_nothing(clerk, svc, field, label):
    before = disputes_stored(svc)
    r = clerk.post("/window", data=intake_form(svc, window_token(clerk), **{field: "王\x00五"}))
    assert r.status_code == 422 and label in r.text
    assert disputes_stored(svc) == before


def test_a_party_field_with_a_non_ascii_index_is_ignored(clerk, svc):
    data = intake_form(svc, window_token(clerk), **{"parties-²-name": "李四"})
    assert clerk.post("/window", data=data).status_code == 303


def test_the_intake_form_records_the_features_routing_reads(clerk, svc):
    """确权 of a homestead goes to the town government by statute; the window must be able to say so."""
    html = clerk.get("/window").text
    assert all(f'name="features" value="{f}"' in html for f in Feature)
    dispute_id, _ = register_on_web(clerk, svc, category="HOUSING_HOMESTEAD", features="title_dispute")
    d = svc.get_dispute(dispute_id)
    assert d["features"] == ["title_dispute"]
    assert "feature.title_dispute" in {r["rule"] for r in d["routing"]["reasons"]}
    assert svc.ctx.registry().by_code[lead_of(d)["agency"]].body_type == "government"


# ---------------------------------------------------------------- the workbench after an action in place
def _dialog_next(html: str) -> set[str]:
    return {htmllib.unescape(v) for v in re.findall(r'<input type="hidden" name="next" value="([^"]*)">', html)}


def _dialog_form(html: str, dialog: str) -> dict[str, str]:
    form = html[html.index(f'<dialog id="{dialog}"'):]
    form = form[:form.index("</dialog>")]
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    return {k: htmllib.unescape(v) for k, v in hidden}


def test_after_one_action_in_place_the_dialogs_still_come_back_to_the_queue(supervisor, svc, clock):
    first, second = register(svc, category="LABOUR"), register(svc, category="LABOUR")
    move_past(clock, max(lead_of(first)["ack_due"], lead_of(second)["ack_due"]))
    url = "/supervise?queue=overdue&category=LABOUR"
    page = supervisor.get(url).text
    assert _dialog_next(page) == {url}
    token = csrf_of(page)
    r = supervisor.post(f"/disputes/{first['id']}/actions", headers=HTMX, data={
        "csrf_token": token, "action": "urge", "reason": "请尽快签收", "next": url, "dialog": "dlg-1-urge"})
    assert r.status_code == 200 and r.text.lstrip().startswith('<section id="queue"')
    assert _dialog_next(r.text) == {url}
    again = supervisor.post(f"/disputes/{second['id']}/actions", headers=HTMX, data={
        "csrf_token": token, "action": "urge", "reason": "请尽快签收", "next": url, "dialog": "dlg-2-urge"})
    assert again.text.lstrip().startswith('<section id="queue"')
    assert len(events_of(svc, first["id"], "handoff.urged")) == 1
    assert len(events_of(svc, second["id"], "handoff.urged")) == 1


def test_the_receipt_names_the_current_lead_after_a_reroute(supervisor, svc):
    d = register(svc)
    token = csrf_of(supervisor.get(f"/disputes/{d['id']}").text)
    assert supervisor.post(f"/disputes/{d['id']}/actions", data={
        "csrf_token": token, "action": "reroute", "reason": "村调委会负责人回避"}).status_code == 303
    new = lead_of(svc.get_dispute(d["id"]))
    assert new["agency"] != lead_of(d)["agency"]
    r = supervisor.get(f"/disputes/{d['id']}/receipt")
    assert re.search(r"<dt>承办单位</dt><dd>([^<]*)</dd>", r.text).group(1) == svc.agency_names()[new["agency"]]


def test_an_overdue_assisting_row_offers_no_reroute_and_the_lead_row_does(supervisor, svc, clock):
    """改派 and 提级 move the lead; on a late assist's row they would move a lead that was not late."""
    d = register(svc, risk_flags=["domestic_violence"])
    lead = lead_of(d)
    police = next(h for h in d["handoffs"] if h["role"] == "assist" and h["ack_due"] < lead["ack_due"])
    move_past(clock, police["ack_due"])
    page = supervisor.get("/supervise?queue=overdue").text
    rows = re.findall(r'<tr id="row-\d+">(.*?)</tr>', page, re.S)
    assert len(rows) == 1 and "协办" in rows[0]
    assert "改派" not in rows[0] and "提级" not in rows[0] and "催办" in rows[0]

    move_past(clock, lead["ack_due"])
    page = supervisor.get("/supervise?queue=overdue").text
    lead_row = next(r for r in re.findall(r'<tr id="row-(\d+)">(.*?)</tr>', page, re.S) if "主办" in r[1])
    data = _dialog_form(page, f"dlg-{lead_row[0]}-reroute")
    r = supervisor.post(f"/disputes/{d['id']}/actions", data={**data, "reason": "调委会未按时签收"})
    assert r.status_code == 303
    after = {h["id"]: h["state"] for h in svc.get_dispute(d["id"])["handoffs"]}
    assert after[lead["id"]] == "recalled" and after[police["id"]] != "recalled"
