"""Data minimisation over real HTTP and at the window: the consent checkbox, a party without consent
whose data no body gets, and the audit of what a pull revealed."""

from __future__ import annotations

from tests.builders import body, county, events_of, lead_of
from tests.e2e.web_client import register_on_web


def test_a_pull_shows_and_audits_only_what_the_body_may_have(live, svc, agencies):
    b = body(county(svc)["v"])  # people mediation: names and phones
    third = {"role": "third_party", "kind": "person", "name": "王五", "phone": "13912345678", "consent": False}
    d = live.post("/api/v1/disputes", {**b, "parties": [*b["parties"], third]}).json()
    lead = lead_of(d)
    parties = agencies(lead["agency"]).handoff(lead["id"]).json()["referral"]["parties"]
    assert parties[0]["phone"] == b["parties"][0]["phone"] and parties[0]["id_number"] is None
    assert parties[2]["name"] == "王五" and parties[2]["phone"] is None  # no consent, no basis
    (reveal,) = events_of(svc, d["id"], "pii.revealed", data_only=True)
    assert reveal["fields"] == ["parties.0.phone"]
    bad = live.post("/api/v1/disputes", {**b, "parties": [{**b["parties"][0], "sharing_basis": "gossip"},
                                                          b["parties"][1]]})
    assert bad.status_code == 422 and "parties.0.sharing_basis" in bad.json()["error"]["fields"]


def test_the_window_records_a_party_that_does_not_consent(clerk, svc):
    dispute_id, _ = register_on_web(clerk, svc, **{"parties-0-consent": "", "parties-0-sharing_basis": "legal_duty"})
    party = svc.get_dispute(dispute_id)["parties"][0]
    assert party["consent"] is False and party["sharing_basis"] == "legal_duty"
    assert 'for="f-parties-0-consent"' in clerk.get("/window").text
