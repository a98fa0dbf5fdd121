"""Who may call what (issue 14 item 9): every API and web route x every kind of caller, with the
answer each must get, generated from one table written here by hand.

The table is the specification, kept apart from the decorators in the code, so a route that lets in
a role it should not (or shuts out one it should serve) fails; and every route of the app must have
a line in it, so a new route cannot ship without its access rule being written down and checked.

Callers: no credentials, bad credentials, each staff role over the whole centre, a supervisor and a
clerk scoped to one town (each on a dispute inside the town and on one outside it), the agency
holding the dispute's lead handoff and an agency that does not. The API answers 401 (who are you?),
403 (not your role), 404 (not yours to see: out of scope, or another agency's handoff); the web
sends the unsigned-in to /login, answers 403 with a page, and 404 for out of scope.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from router.adapters import signing
from router.server import application
from router.services import Services, build_services
from router.services.context import Actor
from tests.builders import body, command
from tests.conftest import wipe
from tests.e2e.web_client import PASSWORD, csrf_of, sign_in

CLERK, SUP, ADMIN, FOLLOW, GRID = "clerk", "supervisor", "admin", "follow_up", "grid"
STAFF = frozenset({CLERK, SUP, ADMIN, FOLLOW})
REPORTERS = frozenset({SUP, ADMIN})
DESK = frozenset({CLERK, SUP, ADMIN})
VISITORS = frozenset({CLERK, FOLLOW, SUP, ADMIN})
ALL_STAFF = STAFF | {GRID}
TOWN_A, TOWN_B = "330681104000", "330681109000"  # 店口镇, 枫桥镇


@dataclass(frozen=True)
class Rule:
    """The access rule of one route: `who` may call it (roles, "agency" or "public"); `dispute` when it
    is about one dispute (out of scope: 404); `served` the statuses an allowed caller may get."""

    who: frozenset[str] | str
    dispute: bool = False
    served: frozenset[int] = frozenset()  # empty: anything but 401, 403, 404 and the sign-in redirect
    form: dict[str, str] = field(default_factory=dict)  # a body that passes validation, so scope is what decides
    centre: bool = False  # the whole centre's only: a division-scoped user gets 403


def r(who: Any, **kw: Any) -> Rule:
    return Rule(frozenset(who) if not isinstance(who, str) else who, **kw)


# Written from docs/api.md (roles per route), not read from the code.
RULES: dict[tuple[str, str], Rule] = {
    # ------------------------------------------------------------- public
    ("GET", "/healthz"): r("public"),
    ("GET", "/readyz"): r("public"),
    ("GET", "/metrics"): r("public"),
    ("GET", "/api/openapi.json"): r("public"),
    ("GET", "/login"): r("public", served=frozenset({200, 302})),
    # Without a session there is no CSRF token either: 400, before anything is read.
    ("POST", "/login"): r("public", served=frozenset({200, 302, 400, 401, 422})),
    ("POST", "/logout"): r("public", served=frozenset({302, 303, 400})),
    ("GET", "/static/<path:filename>"): r("public"),
    # ------------------------------------------------------------- the JSON API, staff
    ("GET", "/api/v1/reference/categories"): r(STAFF),
    ("GET", "/api/v1/reference/divisions"): r(STAFF),
    ("GET", "/api/v1/agencies"): r(STAFF),
    ("GET", "/api/v1/audit/verify"): r(REPORTERS, centre=True),
    ("POST", "/api/v1/routing/preview"): r(STAFF),
    ("POST", "/api/v1/disputes"): r({CLERK, ADMIN, GRID}),
    ("GET", "/api/v1/disputes"): r(REPORTERS),
    ("GET", "/api/v1/disputes/<string:dispute_id>"): r(STAFF, dispute=True),
    ("GET", "/api/v1/disputes/<string:dispute_id>/timeline"): r(REPORTERS, dispute=True),
    ("GET", "/api/v1/disputes/<string:dispute_id>/archive"): r(REPORTERS, dispute=True),
    ("POST", "/api/v1/disputes/<string:dispute_id>/actions"): r(REPORTERS, dispute=True,
                                                                form={"action": "urge", "reason": "请尽快签收"}),
    ("POST", "/api/v1/disputes/<string:dispute_id>/duplicate"): r(DESK, dispute=True,
                                                                  form={"decision": "distinct", "reason": "核实"}),
    ("POST", "/api/v1/disputes/<string:dispute_id>/follow-up"): r(VISITORS, dispute=True, form={
        "satisfaction": "satisfied", "reason": "电话回访"}),
    ("POST", "/api/v1/disputes/<string:dispute_id>/completion"): r(DESK, dispute=True, form={"note": "已补正"}),
    ("POST", "/api/v1/disputes/<string:dispute_id>/handoffs/<string:handoff_id>/paper-handover"): r(
        DESK, dispute=True, form={"received_by": "王五"}),
    ("GET", "/api/v1/reports/kpis"): r(REPORTERS),
    ("GET", "/api/v1/reports/kpis/<string:code>/disputes"): r(REPORTERS),
    ("GET", "/api/v1/reports/agencies"): r(REPORTERS),
    ("GET", "/api/v1/reports/divisions"): r(REPORTERS),
    ("GET", "/api/v1/reports/warnings"): r(REPORTERS),
    # ------------------------------------------------------------- the JSON API, agencies (signed)
    ("GET", "/api/v1/agency/handoffs"): r("agency"),
    ("GET", "/api/v1/agency/feed"): r("agency"),
    ("GET", "/api/v1/agency/handoffs/<string:handoff_id>"): r("agency", dispute=True),
    ("POST", "/api/v1/agency/handoffs/<string:handoff_id>/events"): r("agency", dispute=True),
    # A hotline work order or a referral from a body that may not send one is refused by its kind (403).
    ("POST", "/api/v1/intake/hotline"): r("agency", served=frozenset({201, 403, 422})),
    ("POST", "/api/v1/intake/referral"): r("agency", served=frozenset({201, 403, 422})),
    # ------------------------------------------------------------- web pages
    ("GET", "/"): r(ALL_STAFF, served=frozenset({302})),
    ("GET", "/window"): r({CLERK, ADMIN}),
    ("POST", "/window"): r({CLERK, ADMIN}),
    ("GET", "/window/lookup"): r(DESK),
    ("POST", "/window/lookup"): r(DESK, form={"q": "张三"}),
    ("GET", "/window/places"): r({CLERK, ADMIN, GRID}),
    ("POST", "/window/text-check"): r({CLERK, ADMIN, GRID}, form={"summary": "拖欠工资"}),
    ("GET", "/grid"): r({GRID, ADMIN}),
    ("POST", "/grid"): r({GRID, ADMIN}),
    ("GET", "/grid/done/<dispute_id>"): r({GRID, ADMIN}, dispute=True),
    ("GET", "/follow-ups"): r(VISITORS),
    ("GET", "/supervise"): r(REPORTERS),
    ("GET", "/reports"): r(REPORTERS),
    ("GET", "/reports/agencies"): r(REPORTERS),
    ("GET", "/reports/disputes"): r(REPORTERS, served=frozenset({200, 422})),
    ("GET", "/reports/digest"): r(REPORTERS),
    ("GET", "/reports/export/<report>"): r(REPORTERS),
    ("GET", "/disputes/<dispute_id>"): r(VISITORS, dispute=True),
    ("GET", "/disputes/<dispute_id>/receipt"): r(DESK, dispute=True),
    ("GET", "/disputes/<dispute_id>/notice"): r(DESK, dispute=True),
    ("GET", "/disputes/<dispute_id>/archive"): r(REPORTERS, dispute=True),
    ("POST", "/disputes/<dispute_id>/actions"): r(REPORTERS, dispute=True, form={"action": "urge", "reason": "请签收"}),
    ("POST", "/disputes/<dispute_id>/duplicate"): r(DESK, dispute=True,
                                                    form={"decision": "distinct", "reason": "核实"}),
    ("POST", "/disputes/<dispute_id>/completion"): r(DESK, dispute=True, form={"note": "已补正"}),
    ("POST", "/disputes/<dispute_id>/follow-up"): r(VISITORS, dispute=True, form={
        "satisfaction": "satisfied", "reason": "电话回访"}),
    ("GET", "/disputes/<dispute_id>/handoffs/<handoff_id>/letter"): r(DESK, dispute=True),
    ("POST", "/disputes/<dispute_id>/handoffs/<handoff_id>/paper-handover"): r(DESK, dispute=True, form={
        "received_by": "王五"}),
    # The held notice named here does not exist: inside the scope that is its own 404.
    ("POST", "/disputes/<dispute_id>/notices/<delivery_id>/handover"): r(
        DESK, dispute=True, served=frozenset({404}), form={"received_by": "王五"}),
}
# These are in the order they run: signing out last, or every later page would see a signed-out user.
LAST = (("POST", "/login"), ("POST", "/logout"))


@dataclass(frozen=True)
class Caller:
    name: str
    role: str | None = None  # a staff role, "agency", or None (no or bad credentials)
    scoped: bool = False
    outside: bool = False  # scoped, and asking about the dispute outside the town
    other_agency: bool = False
    bad: bool = False


CALLERS = [Caller("anonymous"), Caller("bad credentials", bad=True),
           *(Caller(role, role) for role in (CLERK, SUP, ADMIN, FOLLOW, GRID)),
           Caller("supervisor in town A, on A's dispute", SUP, scoped=True),
           Caller("supervisor in town A, on B's dispute", SUP, scoped=True, outside=True),
           Caller("clerk in town A, on A's dispute", CLERK, scoped=True),
           Caller("clerk in town A, on B's dispute", CLERK, scoped=True, outside=True),
           Caller("the lead agency", "agency"), Caller("another agency", "agency", other_agency=True)]


def expected(rule: Rule, c: Caller, api: bool) -> str:
    """"served", "401", "403", "404" or "login" (the web's redirect to sign in)."""
    if rule.who == "public":
        return "served"
    if rule.who == "agency":
        if c.role != "agency" or c.bad:
            return "401"
        return "404" if c.other_agency and rule.dispute else "served"
    if c.role is None or c.role == "agency":
        return "401" if api else "login"
    if c.role not in rule.who or (rule.centre and c.scoped):
        return "403"
    return "404" if rule.dispute and c.outside else "served"


def outcome(status: int, location: str, rule: Rule, api: bool, want: str) -> str:
    if status >= 500:
        return f"server error {status}"
    if status == 404 and want == "404":
        return "404"
    if not api and rule.who != "public" and (
            status == 400 or (status in (302, 303) and "/login" in location)):
        return "login"  # a POST without a session has no CSRF token either (400): refused the same
    if rule.served and want == "served":
        return "served" if status in rule.served else f"unexpected {status}"
    return str(status) if status in (401, 403, 404) else "served"


class World:
    """Two towns' disputes, the users and agencies that ask about them, and the app."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.app = application(svc)
        tree = svc.ctx.config.divisions
        self.village = {t: tree.children(t)[0].code for t in (TOWN_A, TOWN_B)}
        self.tokens: dict[tuple[str, bool], str] = {}
        for role in (CLERK, SUP, ADMIN, FOLLOW, GRID):
            self.tokens[role, False] = svc.add_user(f"m-{role}", role, PASSWORD)
        for role in (CLERK, SUP):
            self.tokens[role, True] = svc.add_user(f"m-{role}-a", role, PASSWORD, division=TOWN_A)
        # Reported by the grid worker: a grid worker sees only what they reported (web/grid.py).
        by = Actor("user", "m-grid", GRID)
        self.disputes = {t: svc.register_dispute(command(body(self.village[t])), by)[1] for t in (TOWN_A, TOWN_B)}
        lead = self.disputes[TOWN_A]["handoffs"][0]["agency"]
        other = next(a for a in svc.ctx.registry().by_code if a != lead)
        self.keys = {False: svc.rotate_agency_key(lead), True: svc.rotate_agency_key(other)}
        self.clients: dict[tuple[str, bool], Any] = {}

    def dispute_for(self, c: Caller) -> dict[str, Any]:
        return self.disputes[TOWN_B if c.outside else TOWN_A]

    def path(self, rule: str, c: Caller) -> str:
        d = self.dispute_for(c)
        values = {"dispute_id": d["id"], "handoff_id": d["handoffs"][0]["id"], "delivery_id": str(uuid.uuid4()),
                  "code": "received", "report": "kpis", "path:filename": "app.css"}
        path = re.sub(r"<(?:string:)?([^>]+)>", lambda m: values[m.group(1)], rule)
        query = {"/reports/disputes": "?code=received"}
        return path + query.get(path, "")

    def web_client(self, c: Caller) -> Any:
        """A test client signed in as the caller (one per caller, kept: signing in is argon2's work)."""
        key = (c.role or "", c.scoped)
        if key not in self.clients:
            client = self.app.test_client()
            if c.role in ALL_STAFF:
                name = f"m-{c.role}" + ("-a" if c.scoped else "")
                assert sign_in(client, name).status_code in (302, 303)
            self.clients[key] = client
        return self.clients[key]

    def call(self, method: str, rule: str, spec: Rule, c: Caller) -> tuple[int, str]:
        path, api = self.path(rule, c), rule.startswith("/api/")
        data = dict(spec.form)
        if rule == "/api/v1/disputes" or rule == "/api/v1/routing/preview":
            data = body(self.village[TOWN_A])
        if rule.endswith("/events"):
            data = {"handoff_id": self.dispute_for(c)["handoffs"][0]["id"], "event_id": str(uuid.uuid4()),
                    "type": "progress", "note": "已联系双方"}
        if spec.who == "agency" or (api and c.role == "agency"):
            return self._signed(method, path, data if method == "POST" else None, c)
        if api:
            headers = {}
            if c.bad:
                headers["Authorization"] = "Bearer drt_not-a-token"
            elif c.role in ALL_STAFF:
                headers["Authorization"] = f"Bearer {self.tokens[c.role, c.scoped]}"
            resp = self.app.test_client().open(path, method=method, headers=headers,
                                               json=data if method == "POST" else None)
            return resp.status_code, resp.headers.get("Location", "")
        client = self.web_client(c) if not c.bad else self._forged()
        if method == "POST" and not c.bad:
            page = client.get("/login", follow_redirects=True).text
            data = {**data, "csrf_token": csrf_of(page)}
        resp = client.open(path, method=method, data=data if method == "POST" else None)
        return resp.status_code, resp.headers.get("Location", "")

    def _forged(self) -> Any:
        client = self.app.test_client()
        client.set_cookie("session", "eyJzaWQiOiJmb3JnZWQifQ.forged.signature", domain="localhost")
        return client

    def _signed(self, method: str, path: str, data: Any, c: Caller) -> tuple[int, str]:
        key_id, secret = self.keys[c.other_agency]
        raw = b"" if data is None else json.dumps(data, ensure_ascii=False).encode()
        headers: dict[str, str] = {}
        if c.role == "agency":
            now = int(self.svc.ctx.now().timestamp())
            headers = {"X-Router-Key": key_id, **signing.headers(
                [secret], f"msg_{uuid.uuid4().hex}", now, signing.signed_payload(method, path, raw))}
        elif c.bad:
            headers = {"X-Router-Key": key_id, "webhook-id": "msg_x", "webhook-timestamp": "1",
                       "webhook-signature": "v1,AAAA"}
        elif c.role in ALL_STAFF:
            headers["Authorization"] = f"Bearer {self.tokens[c.role, c.scoped]}"
        if raw:
            headers["Content-Type"] = "application/json"
        resp = self.app.test_client().open(path, method=method, data=raw or None, headers=headers)
        return resp.status_code, resp.headers.get("Location", "")


@pytest.fixture(scope="module")
def world(settings: Any, engine: Any, _synced: None) -> Iterator[World]:
    yield World(build_services(settings, engine=engine))
    wipe(engine)


def routes(app: Any) -> set[tuple[str, str]]:
    return {(m, rule.rule) for rule in app.url_map.iter_rules() for m in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_has_an_access_rule(world: World) -> None:
    """A route added without a line in RULES fails here: its access rule must be written down."""
    found = routes(world.app)
    assert sorted(found - set(RULES)) == [], "routes with no access rule in this file's RULES"
    assert sorted(set(RULES) - found) == [], "RULES names routes the app does not have"


def _order() -> list[tuple[str, str]]:
    return [k for k in RULES if k not in LAST] + list(LAST)


@pytest.mark.parametrize("caller", CALLERS, ids=[c.name for c in CALLERS])
def test_each_caller_gets_the_answer_its_rule_gives(world: World, caller: Caller) -> None:
    wrong = []
    for method, rule in _order():
        spec = RULES[method, rule]
        if caller.outside and not spec.dispute and spec.who not in ("public", "agency"):
            continue  # the scoped callers' other disputes matter on dispute routes only (lists: test_division_scope)
        status, location = world.call(method, rule, spec, caller)
        api = rule.startswith("/api/")
        want = expected(spec, caller, api)
        got = outcome(status, location, spec, api, want)
        if want != got:
            wrong.append(f"{method} {rule}: wanted {want}, got {got} ({status} {location})")
    world.clients.pop((caller.role or "", caller.scoped), None)  # signed out at the end: sign in again next
    assert wrong == [], "\n".join(wrong)
