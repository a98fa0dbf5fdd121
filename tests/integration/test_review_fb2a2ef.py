"""Review of fb2a2ef "division-scoped staff" (docs/api.md §2 "Division scopes").

Probes named `test_fixed_...` failed on the reviewed code: each showed a place where the scope
leaked or was wrong, and now holds. Probes named `test_ok_...` passed then: they confirm behaviour
the review checked and found right (kept so a later change cannot quietly break it).
"""

from __future__ import annotations

import json
import shutil
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from router.domain.divisions import DivisionTree
from router.domain.errors import ConfigError, NotFound, ValidationError
from router.domain.registry import division_prefix
from router.server import application
from router.services import build_services
from router.services.context import Actor
from router.services.queues import QueueFilter
from router.services.scope import WHOLE, Scope, scope_of
from router.settings import load_settings
from router.store.models import Delivery, Dispute, Event, IdempotencyKey, Outbox, Timer
from router.store.report_models import Signal
from tests.builders import PII_KEY, START, body, command, config_dir
from tests.conftest import Clock, auth
from tests.e2e.web_client import PASSWORD, csrf_of, sign_in

TOWN_A, TOWN_B = "330681104000", "330681109000"  # 店口镇, 枫桥镇
DISTRICT, CITY, OTHER_DISTRICT = "330681000000", "330600000000", "330603000000"  # 诸暨市, 绍兴市, 柯桥区
WANGTAN = "330603107000"  # 柯桥区王坛镇: in the centre's divisions.yaml, outside 诸暨市
DAYS = {"from": "2026-11-01", "to": "2026-11-30"}
WHOLE_CLERK = Actor("user", "rv-whole-clerk", "clerk")
WHOLE_SUP = Actor("user", "rv-whole-sup", "supervisor")


def village(svc: Any, town: str) -> str:
    return svc.ctx.config.divisions.children(town)[0].code


def same_applicant(first: dict[str, Any], division: str, **kw: Any) -> dict[str, Any]:
    """An intake body in `division` whose applicant is `first`'s (ID number and phone)."""
    b = body(division, **kw)
    for k in ("id_number", "phone"):
        b["parties"][0][k] = first["parties"][0][k]
    return b


def text_of(resp: Any) -> str:
    """A response as readable text (JSON without \\u escapes), to look for a reference in it."""
    if resp.is_json:
        return json.dumps(resp.get_json(), ensure_ascii=False)
    return resp.get_data(as_text=True)


def counts(svc: Any) -> dict[str, int]:
    """How many rows each written table holds: an action refused must leave them all as they were."""
    with svc.ctx.store.read() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0
                for t in (Event, IdempotencyKey, Outbox, Delivery, Timer, Dispute)}


@pytest.fixture
def held(svc: Any) -> dict[str, Any]:
    """Town B's dispute, and a registration in town A of the same applicant and kind (held for 并单 as
    a likely repeat of B's: duplicate detection is centre-wide by design), and A's scoped staff."""
    first = body(village(svc, TOWN_B))
    earlier = svc.register_dispute(command(first), WHOLE_CLERK)[1]
    tokens = {"clerk": svc.add_user("rv-clerk-a", "clerk", PASSWORD, division=TOWN_A),
              "sup": svc.add_user("rv-sup-a", "supervisor", PASSWORD, division=TOWN_A)}
    return {"earlier": earlier, "again": same_applicant(first, village(svc, TOWN_A)), "tokens": tokens}


# =================================================================== FAILING probes: leaks and bugs


def test_fixed_a_held_registration_names_another_towns_dispute(svc, client, held):
    """A scoped clerk registers in town A; the registration is held as a likely repeat of town B's
    dispute. Every answer about it then names B's dispute (its id and 受理编号): the 201 itself,
    the dispute, its timeline (the hold's reason), although B's dispute answers 404 to them and the
    preview (test_division_scope) hides it. Cause: schemas/disputes.py `_duplicate` (DisputeOut.
    duplicate_of) and merge.hold_duplicate's event text, dumped unscoped by views.get_dispute."""
    earlier, tok = held["earlier"], held["tokens"]
    r = client.post("/api/v1/disputes", headers=auth(tok["clerk"]), json=held["again"])
    assert r.status_code == 201, r.text
    mine = r.get_json()
    assert mine["state"] == "held_duplicate"  # held all the same: by design
    assert client.get(f"/api/v1/disputes/{earlier['id']}", headers=auth(tok["sup"])).status_code == 404
    answers = {"POST /disputes (201)": r,
               "GET /disputes/<id>": client.get(f"/api/v1/disputes/{mine['id']}", headers=auth(tok["sup"])),
               "GET /disputes/<id>/timeline": client.get(f"/api/v1/disputes/{mine['id']}/timeline",
                                                         headers=auth(tok["sup"]))}
    leaked = [name for name, resp in answers.items()
              if earlier["reference"] in text_of(resp) or earlier["id"] in text_of(resp)]
    assert leaked == [], f"another town's dispute {earlier['reference']} is named by: {leaked}"


def test_fixed_the_receipt_and_dispute_page_link_to_another_towns_dispute(svc, held):
    """The same on the web: the 受理回执 the window prints for the scoped clerk and the dispute page
    say 疑似与 <B's 受理编号> and link to it (templates dispute/receipt.html:22, dispute/page.html:35,57,71)."""
    earlier = held["earlier"]
    clerk = svc.authenticate(held["tokens"]["clerk"])
    mine = svc.register_dispute(command(held["again"]), clerk)[1]
    web = application(svc).test_client()
    assert sign_in(web, "rv-clerk-a").status_code in (302, 303)
    assert web.get(f"/disputes/{earlier['id']}").status_code == 404
    pages = {p: web.get(p) for p in (f"/disputes/{mine['id']}/receipt", f"/disputes/{mine['id']}")}
    assert all(resp.status_code == 200 for resp in pages.values())
    leaked = [p for p, resp in pages.items() if earlier["reference"] in text_of(resp) or earlier["id"] in text_of(resp)]
    assert leaked == [], f"pages naming another town's dispute: {leaked}"


def test_fixed_a_registration_merged_across_towns_names_and_answers_for_the_target(svc, client, held):
    """A whole-centre supervisor merges town A's registration into town B's dispute (allowed). To A's
    scoped staff the registration then names B's dispute (merged_into, closure.into) and a 并单 again
    'into' B's id answers 200 while into an id that does not exist answers 409: the early return in
    merge.decide_duplicate (`d.merged_into == other: return`) comes before the scope check on the
    target, so B's dispute is not 'absent exactly like one that does not exist'."""
    earlier, tok = held["earlier"], held["tokens"]
    mine = svc.register_dispute(command(held["again"]), WHOLE_CLERK)[1]
    assert mine["state"] == "held_duplicate"
    svc.decide_duplicate(mine["id"], "merge", "同一纠纷", WHOLE_SUP)
    view = client.get(f"/api/v1/disputes/{mine['id']}", headers=auth(tok["sup"]))
    assert view.status_code == 200
    problems = []
    if earlier["reference"] in text_of(view) or earlier["id"] in text_of(view):
        problems.append("the registration's view names the merge target of another town")

    def again(into: str) -> int:
        return client.post(f"/api/v1/disputes/{mine['id']}/duplicate", headers=auth(tok["clerk"]),
                           json={"decision": "merge", "into": into, "reason": "再次并单"}).status_code

    into_b, into_nothing = again(earlier["id"]), again(str(uuid.uuid4()))
    if into_b != into_nothing:
        problems.append(f"merge into B's dispute answers {into_b}, into no dispute {into_nothing}")
    assert problems == []


def test_fixed_the_digest_of_a_scoped_user_counts_a_repeat_partys_other_towns_disputes(svc, held):
    """研判 for a town's scoped supervisor: a repeat party (同一当事人反复) with one dispute in the town
    and two in town B is listed with the centre-wide `why` ('…涉及3件纠纷'), telling the town how many
    disputes the person has elsewhere. Cause: digest.py builds repeat_parties from
    warnings.open_signals(ctx) (the whole centre) and passes sig['why'] through unchanged."""
    first = body(village(svc, TOWN_B))
    svc.register_dispute(command(first), WHOLE_CLERK)
    svc.register_dispute(command(same_applicant(first, village(svc, TOWN_B), category="CONTRACT")), WHOLE_CLERK)
    svc.register_dispute(command(same_applicant(first, village(svc, TOWN_A), category="DAMAGES")), WHOLE_CLERK)
    svc.refresh_warnings()
    whole = [s for s in svc.warnings_report()["signals"] if s["kind"] == "repeat_party"]
    assert whole and any("3件" in s["why"] for s in whole)  # the signal holds: 3 disputes centre-wide
    sup = svc.authenticate(held["tokens"]["sup"])
    dg = svc.digest(None, "month", None, sup)
    assert dg["division"] == TOWN_A
    mine = [r for r in dg["repeat_parties"] if r["disputes"] == 1]
    assert mine, dg["repeat_parties"]
    assert all("3件" not in r["why"] for r in mine), f"the town's digest says: {mine}"


def test_fixed_a_village_scoped_supervisors_default_division_report_is_refused(svc, client):
    """A supervisor scoped to a village asks /reports/divisions with no division (docs: 'no division
    asked means the user's own'): 422 `level` (村（社区）以下不再细分). The narrowed division is the
    village while DivisionsQuery's level defaults to "town" (report_filter.py: the level check runs on
    the narrowed division, schemas/reports.py DivisionsQuery.level load_default)."""
    v = village(svc, TOWN_A)
    svc.register_dispute(command(body(v)), WHOLE_CLERK)
    tok = svc.add_user("rv-sup-v", "supervisor", division=v)
    r = client.get("/api/v1/reports/divisions", headers=auth(tok), query_string=DAYS)
    assert r.status_code == 200, r.text


def test_fixed_a_village_scoped_supervisors_reports_dashboard_is_always_422(svc):
    """The same on the web: /reports for a village-scoped supervisor is the 422 refusal page on every
    visit (web/reports.py reports(): heat level 'town' unless a division is asked, and _choices()
    offers the user no division to ask: only district/town levels pass)."""
    v = village(svc, TOWN_A)
    svc.register_dispute(command(body(v)), WHOLE_CLERK)
    svc.add_user("rv-sup-v", "supervisor", PASSWORD, division=v)
    web = application(svc).test_client()
    assert sign_in(web, "rv-sup-v").status_code in (302, 303)
    r = web.get("/reports", query_string=DAYS)
    assert r.status_code == 200, r.get_data(as_text=True)[-600:]


def test_fixed_a_village_scoped_supervisors_digest_page_is_always_refused(svc):
    """/reports/digest for a village-scoped supervisor: narrow(None) is the village, and a digest is
    for a town, a district or the city (digest.py), so the page is a 422 with no choice offered."""
    v = village(svc, TOWN_A)
    svc.add_user("rv-sup-v", "supervisor", PASSWORD, division=v)
    web = application(svc).test_client()
    assert sign_in(web, "rv-sup-v").status_code in (302, 303)
    r = web.get("/reports/digest")
    assert r.status_code == 200, r.get_data(as_text=True)[-600:]


def test_fixed_divisions_yaml_accepts_a_child_outside_its_parents_prefix_and_scope_disagrees_with_the_tree():
    """The scope is the prefix rule (services/scope.py), while the reports, the digest and the figures
    place a dispute by the parent chain (figures.places, division_report.under, digest `inside`).
    divisions.yaml does not check that a child's code starts with its parent's prefix, so a village
    listed under town A with a code outside A's prefix loads, is in A's subtree for the tree and not
    for the scope (see the next probe for what that does)."""
    data = {"centre": {"code": DISTRICT, "name": "诸暨市", "reference_prefix": "诸暨调"},
            "divisions": [{"code": DISTRICT, "name": "诸暨市", "level": "district"},
                          {"code": TOWN_A, "name": "店口镇", "level": "town", "parent": DISTRICT},
                          {"code": "330681999001", "name": "测试村", "level": "village", "parent": TOWN_A}]}
    try:
        tree = DivisionTree.from_mapping(data)
    except ConfigError:
        return  # refused at load: the two rules cannot disagree
    in_tree = TOWN_A in {d.code for d in tree.path("330681999001")}
    assert Scope(TOWN_A).allows("330681999001") == in_tree, "the tree and the scope disagree on the subtree"


def test_fixed_a_misplaced_village_makes_reports_list_disputes_the_scope_calls_absent(tmp_path):
    """With such a village in divisions.yaml, town A's scoped supervisor got 404 for its dispute and no
    line in the list, yet the KPI report counted it (the figures place a dispute by the parent chain,
    the scope by the prefix). Now such a divisions.yaml is refused when the service starts."""
    conf = tmp_path / "conf"
    shutil.copytree(config_dir(), conf)
    yaml = conf / "divisions.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8") + '  - {code: "330681999001", name: 测试村, level: village, '
                    f'parent: "{TOWN_A}"}}\n', encoding="utf-8")
    env = {"ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'odd.db'}", "ROUTER_CONFIG_DIR": str(conf),
           "ROUTER_VAR_DIR": str(tmp_path / "var"), "ROUTER_PII_KEY": PII_KEY, "ROUTER_SECRET_KEY": "s"}
    with pytest.raises(ConfigError, match="is not under its parent"):
        build_services(load_settings(env), check_schema=False, clock=Clock(START))


# =================================================================== PASSING probes: checked and right


def test_ok_actions_on_another_towns_dispute_write_nothing(svc, client, held):
    """Every API action on B's dispute by A's scoped staff: 404, and no event, idempotency record,
    outbox message, delivery, timer or dispute written (on_dispute checks before the work)."""
    b = held["earlier"]
    tok = held["tokens"]
    h = b["handoffs"][0]["id"]
    before = counts(svc)
    calls = [("sup", "actions", {"action": "urge", "reason": "请签收"}),
             ("sup", "actions", {"action": "close", "reason": "办结"}),
             ("sup", "actions", {"action": "escalate", "reason": "提级"}),
             ("clerk", "duplicate", {"decision": "distinct", "reason": "核实"}),
             ("clerk", "follow-up", {"satisfaction": "satisfied", "reason": "电话回访"}),
             ("clerk", "completion", {"note": "已补正"}),
             ("clerk", f"handoffs/{h}/paper-handover", {"received_by": "王五"})]
    got = {path: client.post(f"/api/v1/disputes/{b['id']}/{path}", headers=auth(tok[who]), json=data).status_code
           for who, path, data in calls}
    assert set(got.values()) == {404}, got
    assert client.get(f"/api/v1/disputes/{b['id']}/archive", headers=auth(tok["sup"])).status_code == 404
    assert counts(svc) == before


def test_ok_web_actions_on_another_towns_dispute_write_nothing_and_flash_nothing(svc, held):
    b = held["earlier"]
    h = b["handoffs"][0]["id"]
    web = application(svc).test_client()
    assert sign_in(web, "rv-sup-a").status_code in (302, 303)
    token = csrf_of(web.get("/window/lookup").text)
    before = counts(svc)
    posts = {f"/disputes/{b['id']}/actions": {"action": "urge", "reason": "请签收"},
             f"/disputes/{b['id']}/duplicate": {"decision": "distinct", "reason": "核实"},
             f"/disputes/{b['id']}/completion": {"note": "已补正"},
             f"/disputes/{b['id']}/follow-up": {"satisfaction": "satisfied", "reason": "电话回访"},
             f"/disputes/{b['id']}/handoffs/{h}/paper-handover": {"received_by": "王五"},
             f"/disputes/{b['id']}/notices/{uuid.uuid4()}/handover": {"received_by": "王五"}}
    got = {p: web.post(p, data={**data, "csrf_token": token}).status_code for p, data in posts.items()}
    got[f"/disputes/{b['id']}/handoffs/{h}/letter"] = web.get(f"/disputes/{b['id']}/handoffs/{h}/letter").status_code
    assert set(got.values()) == {404}, got
    assert counts(svc) == before  # no pii.revealed for the letter, no urge
    with web.session_transaction() as s:
        assert not s.get("_flashes")


def test_ok_registering_outside_with_an_idempotency_key_stores_nothing(svc, client, held):
    before = counts(svc)
    r = client.post("/api/v1/disputes", headers={**auth(held["tokens"]["clerk"]), "Idempotency-Key": "k-1"},
                    json=body(village(svc, TOWN_B)))
    assert r.status_code == 422 and "division" in r.get_json()["error"]["fields"]
    assert counts(svc) == before


def test_ok_the_scope_reaches_tokens_sessions_and_sign_in(svc, held):
    assert svc.authenticate(held["tokens"]["sup"]).division == TOWN_A
    assert svc.sign_in("rv-sup-a", PASSWORD).division == TOWN_A
    web = application(svc).test_client()
    assert sign_in(web, "rv-sup-a").status_code in (302, 303)
    assert web.get(f"/disputes/{held['earlier']['id']}").status_code == 404  # the session's actor is scoped
    assert web.get("/api/v1/audit/verify", headers=auth(held["tokens"]["sup"])).status_code == 403


def test_ok_prefixes_of_each_level_and_no_partial_segment_match():
    assert division_prefix(CITY) == "3306"
    assert division_prefix(DISTRICT) == "330681"
    assert division_prefix(TOWN_A) == "330681104"
    assert division_prefix("330603107200") == "330603107200"  # a village ending in 00 keeps its code
    town_10 = Scope("330681010000")  # a town whose segment ends in 0 covers only its own villages
    assert town_10.prefix == "330681010"
    assert not town_10.allows("330681100001") and not Scope("330681100000").allows("330681010001")
    assert Scope(CITY).allows(WANGTAN) and Scope(CITY).allows(TOWN_A)
    assert not Scope(TOWN_A).allows(DISTRICT)  # a dispute placed at the district is not the town's
    assert scope_of(Actor("agency", "X", "agency", TOWN_A)) is WHOLE and scope_of(None) is WHOLE


def test_ok_a_user_scoped_to_the_centres_root_does_not_see_the_neighbouring_district(svc, client):
    """诸暨市 (the centre's code) is a subtree of the prefix rule: 柯桥区王坛镇 in divisions.yaml lies
    outside it. Consistent with docs/api.md §2; worth knowing for anyone adding a 'whole centre' user
    with --division (the whole centre is no --division at all)."""
    kq = svc.register_dispute(command(body(village(svc, WANGTAN))), WHOLE_CLERK)[1]
    tok = svc.add_user("rv-root", "supervisor", division=DISTRICT)
    assert client.get(f"/api/v1/disputes/{kq['id']}", headers=auth(tok)).status_code == 404
    whole = svc.add_user("rv-all", "supervisor")
    assert client.get(f"/api/v1/disputes/{kq['id']}", headers=auth(whole)).status_code == 200


def test_ok_narrow_for_reports_queues_and_the_digest(svc, client, held):
    sup = svc.authenticate(held["tokens"]["sup"])
    s = Scope(TOWN_A)
    assert s.narrow(None) == TOWN_A and s.narrow(DISTRICT) == TOWN_A and s.narrow(CITY) == TOWN_A
    assert s.narrow(village(svc, TOWN_A)) == village(svc, TOWN_A)
    for other in (TOWN_B, OTHER_DISTRICT, village(svc, TOWN_B)):
        with pytest.raises(NotFound):
            s.narrow(other)
    with pytest.raises(NotFound):
        Scope(village(svc, TOWN_A)).narrow(village(svc, TOWN_B))
    # An unknown division is a 422 (as for everyone), never a 404 that tells it apart from another town's.
    r = client.get("/api/v1/reports/kpis", headers=auth(held["tokens"]["sup"]),
                   query_string={**DAYS, "division": "330681999000"})
    assert r.status_code == 422
    with pytest.raises(ValidationError):
        svc.queue(QueueFilter("overdue", division="330681999000"), sup)
    with pytest.raises(ValidationError):
        svc.digest("330681999000", "month", None, sup)
    assert svc.digest(CITY, "month", None, sup)["division"] == TOWN_A
    r = client.get("/api/v1/reports/kpis", headers=auth(held["tokens"]["sup"]),
                   query_string={**DAYS, "division": TOWN_B})
    assert r.status_code == 404 and "division" in r.get_json()["error"]["fields"]


def test_ok_the_workbench_and_its_warnings_tab_hold_only_the_town(svc, held):
    now = svc.ctx.now()
    with svc.ctx.store.unit_of_work() as uow:
        for key, v in (("cluster:rv-a", village(svc, TOWN_A)), ("cluster:rv-b", village(svc, TOWN_B))):
            uow.session.add(Signal(key=key, kind="cluster", detail={"why": f"why-{key}"}, division=v, raised_at=now))
    web = application(svc).test_client()
    assert sign_in(web, "rv-sup-a").status_code in (302, 303)
    for path in ("/supervise?queue=warnings", "/supervise?queue=needs_supervisor", "/supervise?queue=duplicates"):
        for headers in ({}, {"HX-Request": "true"}):
            page = web.get(path, headers=headers).get_data(as_text=True)
            assert "why-cluster:rv-b" not in page and held["earlier"]["reference"] not in page, (path, headers)
    assert "why-cluster:rv-a" in web.get("/supervise?queue=warnings").get_data(as_text=True)
    sup = svc.authenticate(held["tokens"]["sup"])
    assert all(n == 0 for n in svc.queue(QueueFilter("overdue"), sup)["counts"].values())  # A holds nothing yet
    assert svc.warnings_report(viewer=sup)["total"] == 1


def test_ok_lists_lookup_follow_ups_and_the_window_hold_only_the_town(svc, held):
    b = held["earlier"]
    sup = svc.authenticate(held["tokens"]["sup"])
    assert svc.lookup(b["reference"], viewer=sup) == []
    assert svc.completion_queue(sup) == [] and svc.follow_up_queue(viewer=sup)["total"] == 0
    web = application(svc).test_client()
    assert sign_in(web, "rv-clerk-a").status_code in (302, 303)
    for path in ("/window", "/follow-ups"):
        assert b["reference"] not in web.get(path).get_data(as_text=True), path
    # The place selects offer the town only (the parties' residence list is the whole area, by design).
    for path in (f"/window/places?district={DISTRICT}", f"/window/places?town={TOWN_B}"):
        page = web.get(path).get_data(as_text=True)
        assert TOWN_B not in page and "枫桥镇" not in page, path
