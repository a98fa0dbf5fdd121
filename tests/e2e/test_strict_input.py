"""Money, dates and query parameters are taken as sent or refused, never changed or ignored: an amount
with a third decimal, an agreement to be fulfilled before it was reached, an unknown filter value
or query parameter are each 422 naming the field, and nothing is stored."""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import pytest
from sqlalchemy import func, select

from router.store.models import Dispute, Event
from tests.builders import CONTRACTS, body, county, lead_of, post_dispute, view_of


def _intake(svc, **kw):
    return body(county(svc)["v"], **kw)


def _counts(svc):
    with svc.ctx.store.read() as s:
        return s.scalar(select(func.count()).select_from(Dispute)), s.scalar(select(func.count()).select_from(Event))


@pytest.mark.parametrize("amount", ["1.234", "0.001", "12000.005", "1e-3", "10000000000000.00", "1e14", "1e13"])
def test_an_amount_that_would_be_rounded_or_overflow_is_refused(live, svc, amount):
    before = _counts(svc)
    r = live.post("/api/v1/disputes", _intake(svc, amount=amount))
    assert r.status_code == 422, r.text
    assert "amount" in r.json()["error"]["fields"]
    assert _counts(svc) == before


@pytest.mark.parametrize("amount", ["12000", "12000.5", "12000.50", "0", "9999999999999.99"])
def test_an_amount_with_at_most_two_places_is_kept_exactly(live, svc, amount):
    r = live.post("/api/v1/disputes", _intake(svc, amount=amount))
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == str(Decimal(amount).quantize(Decimal("0.01")))


def test_an_agreement_due_before_it_was_reached_is_refused(live, svc, agencies, clock):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    agency = agencies(lead["agency"])
    for fulfil_by, amount in (("2026-11-22", "100.00"), ("2026-12-31", "100.001")):
        outcome = {"result": "agreement", "agreement": {"terms": "赔偿100元", "amount": amount, "fulfil_by": fulfil_by}}
        r = agency.event(lead["id"], "outcome", outcome=outcome)
        assert r.status_code == 422, r.text
        field = "outcome.agreement.fulfil_by" if amount == "100.00" else "outcome.agreement.amount"
        assert field in r.json()["error"]["fields"], r.json()
    assert live.get(f"/api/v1/disputes/{d['id']}").json()["state"] == "handed_off"
    today = {"result": "agreement", "agreement": {"terms": "赔偿100元", "amount": "100.00", "fulfil_by": "2026-11-23"}}
    assert agency.event(lead["id"], "outcome", outcome=today).status_code == 200


@pytest.mark.parametrize(("query", "field"), [
    ("state=bogus", "state"), ("category=ALIENS", "category"), ("colour=red", "colour"), ("pagee=2", "pagee"),
    ("tier=planet", "tier"),
])
def test_an_unknown_filter_value_or_query_parameter_is_refused(live, svc, query, field):
    r = live.get(f"/api/v1/disputes?{query}")
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["fields"], r.json()


def test_the_agency_pull_refuses_unknown_parameters_too(live, svc, agencies):
    lead = lead_of(post_dispute(live, svc))
    r = agencies(lead["agency"]).request("GET", "/api/v1/agency/handoffs?stat=delivered")
    assert r.status_code == 422 and "stat" in r.json()["error"]["fields"], r.text


def test_reference_queries_refuse_unknown_parameters(live):
    r = live.get("/api/v1/agencies?bodytype=court")
    assert r.status_code == 422 and "bodytype" in r.json()["error"]["fields"], r.text


@pytest.mark.parametrize("path", ["/api/v1/reference/categories?lang=en", "/api/v1/audit/verify?full=1"])
def test_an_endpoint_without_parameters_refuses_a_query_string(live, path):
    r = live.get(path)
    assert r.status_code == 422, r.text
    assert set(r.json()["error"]["fields"]) <= {"lang", "full"}


def test_the_dispute_and_its_timeline_refuse_a_query_string(live, svc):
    d = post_dispute(live, svc)
    for path in (f"/api/v1/disputes/{d['id']}?expand=all", f"/api/v1/disputes/{d['id']}/timeline?since=3"):
        r = live.get(path)
        assert r.status_code == 422 and len(r.json()["error"]["fields"]) == 1, r.text
    assert live.get(f"/api/v1/disputes/{d['id']}?expand=all", role=None).status_code == 401  # auth comes first


def test_the_largest_amount_accepted_is_the_amount_stored(live, svc):
    """SQLite keeps Numeric as a float: the limit is where that is still exact to the cent."""
    r = live.post("/api/v1/disputes", body(county(svc)["v"], amount="9999999999999.99"))
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == view_of(live, r.json())["amount"] == "9999999999999.99"


@pytest.mark.parametrize("amount", ["-0", "-0.00"])
def test_a_negative_zero_amount_is_not_answered_as_minus_zero(live, svc, amount):
    """Negative zero is 0.00 in every answer, the first one included."""
    r = live.post("/api/v1/disputes", body(county(svc)["v"], amount=amount))
    assert r.status_code in (201, 422), r.text
    if r.status_code == 201:
        assert r.json()["amount"] == view_of(live, r.json())["amount"] == "0.00"


def test_the_court_referral_for_an_agreement_of_minus_zero_meets_its_contract(live, svc, agencies, clock):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    clock.advance(hours=1)
    outcome = {"result": "agreement", "agreement": {"terms": "双方互不追究", "amount": "-0",
                                                    "judicial_confirmation": True}}
    r = agencies(lead["agency"]).event(lead["id"], "outcome", outcome=outcome)
    if r.status_code == 422:
        return  # refused: taken as sent or refused
    assert r.status_code == 200, r.text
    court = [h for h in view_of(live, d)["handoffs"] if h["role"] == "confirm"][-1]
    referral = svc.agency_handoff(court["agency"], court["id"])["referral"]
    schema = json.loads((CONTRACTS / "handoff-court.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(referral, schema, format_checker=jsonschema.FormatChecker())
