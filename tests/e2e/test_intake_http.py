"""Intake over real HTTP: each of the 15 categories and the risk cases, routed through the demo county.

Expected tiers and body types come from docs/domain.md §4, not from the code; divisions are picked from
config/divisions.yaml so the test follows the configured county.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from router.domain.ids import mask_id_number, mask_phone
from router.domain.registry import covers
from tests.builders import body, county

CATEGORIES = [
    ("MARRIAGE_FAMILY", "village", "family_mediation"), ("NEIGHBOUR", "village", "people_mediation"),
    ("HOUSING_HOMESTEAD", "village", "people_mediation"), ("CONTRACT", "town", "people_mediation"),
    ("PRODUCTION_BUSINESS", "town", "people_mediation"), ("DAMAGES", "village", "people_mediation"),
    ("FOREST_LAND", "town", "people_mediation"), ("LAND_EXPROPRIATION_DEMOLITION", "district", "petition"),
    ("ENVIRONMENT", "district", "people_mediation"), ("LABOUR", "town", "labour_mediation"),
    ("CONSUMER", "district", "consumer_mediation"), ("MEDICAL", "district", "medical_mediation"),
    ("TRAFFIC_ACCIDENT", "district", "traffic_mediation"), ("PROPERTY_MGMT", "town", "property_mediation"),
    ("OTHER", "town", "people_mediation"),
]


def check_routed(live, svc, resp, division: str, tier: str, lead: str, assisting: set[str],
                 rules: set[str]) -> dict[str, Any]:
    assert resp.status_code == 201, resp.text
    d = resp.json()
    r = d["routing"]
    assert d["state"] == "handed_off"
    assert d["tier"] == r["tier"] == tier
    assert r["lead"]["body_type"] == lead
    assert {a["body_type"] for a in r["assisting"]} == assisting
    fired = {x["rule"] for x in r["reasons"]}
    assert rules <= fired, fired
    assert all(x["text"] for x in r["reasons"])
    assert r["ruleset_version"]
    # The chosen agencies really cover the dispute's division, and each has an offered handoff.
    reg = svc.ctx.registry()
    for p in [r["lead"], *r["assisting"]]:
        info = reg.by_code[p["agency"]]
        assert str(info.body_type) == p["body_type"]
        assert any(covers(j, division) for j in info.jurisdiction)
    roles = sorted((h["role"], h["body_type"], h["state"]) for h in d["handoffs"])
    assert roles == sorted([("lead", lead, "offered")] + [("assist", b, "offered") for b in assisting])
    assert all(h["ack_due"] for h in d["handoffs"])
    return d


@pytest.mark.parametrize(("category", "tier", "lead"), CATEGORIES)
def test_each_category_routes_by_default(live, svc, category, tier, lead):
    c = county(svc)
    resp = live.post("/api/v1/disputes", body(c["v"], category))
    check_routed(live, svc, resp, c["v"], tier, lead, set(), {f"category.{category}"})


RISK_CASES = {
    "violence_threat": (dict(risk_flags=["violence_threat"]), "town", "people_mediation", {"police"},
                        {"risk.violence_threat"}),
    "domestic_violence": (dict(category="MARRIAGE_FAMILY", risk_flags=["domestic_violence"]), "village",
                          "family_mediation", {"police", "legal_aid"}, {"risk.domestic_violence"}),
    "five_people": (dict(people_involved=5), "district", "people_mediation", set(), {"size.group"}),
    "ten_workers": (dict(category="LABOUR", people_involved=10), "district", "labour_mediation",
                    {"labour_arbitration", "legal_aid"}, {"size.labour_collective", "size.group"}),
    "million": (dict(category="CONTRACT", amount="1000000.00"), "district", "people_mediation", set(),
                {"amount.1m", "amount.100k"}),
    "in_proceedings": (dict(risk_flags=["already_in_proceedings"], source="court"), "village", "court", set(),
                       {"exclusion.already_in_proceedings"}),
    "wish_litigation": (dict(wish="litigation"), "village", "court", set(), {"wish.litigation"}),
    "wish_arbitration": (dict(category="LABOUR", wish="arbitration"), "district", "labour_arbitration", set(),
                         {"wish.arbitration_labour"}),
}


@pytest.mark.parametrize("case", sorted(RISK_CASES))
def test_risk_cases(live, svc, case):
    overrides, tier, lead, assisting, rules = RISK_CASES[case]
    c = county(svc)
    resp = live.post("/api/v1/disputes", body(c["v"], **overrides))
    check_routed(live, svc, resp, c["v"], tier, lead, assisting, rules)


def test_government_party(live, svc):
    c = county(svc)
    b = body(c["v"])
    b["parties"][1] = {"role": "respondent", "kind": "government", "name": "某镇人民政府"}
    check_routed(live, svc, live.post("/api/v1/disputes", b), c["v"], "district", "petition", set(),
                 {"exclusion.government_party"})


@pytest.mark.parametrize(("other", "tier", "rule"), [
    ("pair", "town", "division.cross_village"),
    ("v_other_town", "district", "division.cross_town"),
    ("v_other_county", "city", "division.cross_district"),
])
def test_parties_in_different_divisions(live, svc, other, tier, rule):
    c = county(svc)
    here, there = (c["pair"][0], c["pair"][1]) if other == "pair" else (c["v"], c[other])
    b = body(here)
    b["parties"][1]["division"] = there
    check_routed(live, svc, live.post("/api/v1/disputes", b), here, tier, "people_mediation", set(), {rule})


def test_get_and_list_show_the_dispute_masked(live, svc):
    c = county(svc)
    sent = body(c["v"], "LABOUR")
    id_number, phone = sent["parties"][0]["id_number"], sent["parties"][0]["phone"]
    created = live.post("/api/v1/disputes", sent).json()
    got = live.get(f"/api/v1/disputes/{created['id']}", role="clerk").json()
    assert got["reference"] == created["reference"]
    assert got["reference"].startswith(svc.ctx.config.divisions.centre.reference_prefix + "〔2026〕")
    applicant = got["parties"][0]
    assert applicant["id_number"] == mask_id_number(id_number) and applicant["phone"] == mask_phone(phone)
    assert id_number not in live.get(f"/api/v1/disputes/{created['id']}").text
    page = live.get("/api/v1/disputes", params={"category": "LABOUR"}).json()
    assert page["total"] == 1 and page["items"][0]["id"] == created["id"]
    assert live.get("/api/v1/disputes", params={"category": "NEIGHBOUR"}).json()["total"] == 0


def test_overdue_filter(live, svc, clock):
    c = county(svc)
    d = live.post("/api/v1/disputes", body(c["v"], "LABOUR")).json()
    assert live.get("/api/v1/disputes", params={"overdue": "true"}).json()["total"] == 0
    clock.advance(days=10)  # past 3 working days without an acknowledgement
    late = live.get("/api/v1/disputes", params={"overdue": "true"}).json()
    assert [x["id"] for x in late["items"]] == [d["id"]]
    assert live.get("/api/v1/disputes", params={"overdue": "false"}).json()["total"] == 0


def test_references_are_sequential(live, svc):
    c = county(svc)
    refs = [live.post("/api/v1/disputes", body(c["v"])).json()["reference"] for _ in range(3)]
    seqs = [int(r.split("〕")[1].rstrip("号")) for r in refs]
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]


def test_duplicate_is_linked_and_said(live, svc):
    c = county(svc)
    b = body(c["v"], "LABOUR")
    first = live.post("/api/v1/disputes", b).json()
    second = live.post("/api/v1/disputes", {**b, "summary": "又来登记"}).json()
    assert second["duplicate_of"] == {"id": first["id"], "reference": first["reference"]}
    assert second["state"] == "held_duplicate" and second["handoffs"] == []  # held for 并单, not dispatched
    other = {"role": "respondent", "kind": "person", "name": "李四"}
    third = live.post("/api/v1/disputes", {**b, "category": "CONTRACT", "parties": [b["parties"][0], other]}).json()
    assert third["duplicate_of"] is None  # another category against another respondent is another dispute


def test_duplicate_window_is_thirty_days(live, svc, clock):
    c = county(svc)
    b = body(c["v"], "LABOUR")
    live.post("/api/v1/disputes", b)
    clock.advance(days=31)
    assert live.post("/api/v1/disputes", b).json()["duplicate_of"] is None


def test_idempotency_key(live, svc):
    c = county(svc)
    b = body(c["v"])
    h = {"Idempotency-Key": "intake-42"}
    r1 = live.post("/api/v1/disputes", b, headers=dict(h))
    r2 = live.post("/api/v1/disputes", copy.deepcopy(b), headers=dict(h))
    assert r1.status_code == r2.status_code == 201
    assert r1.json()["id"] == r2.json()["id"]
    assert live.get("/api/v1/disputes").json()["total"] == 1
    b["summary"] = "另一份"
    r3 = live.post("/api/v1/disputes", b, headers=dict(h))
    assert r3.status_code == 409 and "Idempotency-Key" in r3.json()["error"]["fields"]
    assert live.get("/api/v1/disputes").json()["total"] == 1


def test_reference_data(live, svc):
    cats = live.get("/api/v1/reference/categories", role="clerk").json()
    assert len(cats) == 15 and {"code": "LABOUR", "name": "劳动争议纠纷"}.items() <= next(
        x for x in cats if x["code"] == "LABOUR").items()
    top = live.get("/api/v1/reference/divisions", role="clerk").json()
    assert top and all(d["level"] for d in top)
    centre = svc.ctx.config.divisions.centre.code
    towns = live.get("/api/v1/reference/divisions", role="clerk", params={"parent": centre}).json()
    assert len(towns) >= 3 and all(t["level"] == "town" and t["parent"] == centre for t in towns)
    c = county(svc)
    ags = live.get("/api/v1/agencies", role="clerk", params={"body_type": "police", "division": c["v"]}).json()
    assert ags and all(a["body_type"] == "police" for a in ags)
    assert live.get("/api/v1/reference/categories", role=None).status_code == 401


def test_health(live):
    assert live.get("/healthz", role=None).json() == {"status": "ok"}
    r = live.get("/readyz", role=None)
    assert r.status_code == 200 and r.json()["database"] is True


def test_routing_preview_names_the_agencies_and_stores_nothing(live, svc):
    from sqlalchemy import func, select

    from router.store.models import Dispute, Event

    b = body(county(svc)["v"], "LABOUR", risk_flags=["violence_threat"])
    first = live.post("/api/v1/disputes", b)
    assert first.status_code == 201
    def counts():
        with svc.ctx.store.read() as s:
            return [s.scalar(select(func.count()).select_from(t)) for t in (Dispute, Event)]

    before = counts()
    r = live.post("/api/v1/routing/preview", b, role="clerk")
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["routing"]["lead"]["agency"] == first.json()["routing"]["lead"]["agency"]
    assert p["routing"]["lead"]["name"] and p["routing"]["assisting"][0]["name"]
    assert {x["rule"] for x in p["routing"]["reasons"]} >= {"category.LABOUR", "risk.violence_threat"}
    assert p["routing"]["ruleset_version"]
    assert [x["reference"] for x in p["likely_duplicates"]] == [first.json()["reference"]]
    assert counts() == before
    bad = live.post("/api/v1/routing/preview", {**b, "category": "ALIENS"}, role="clerk")
    assert bad.status_code == 422 and "category" in bad.json()["error"]["fields"]
