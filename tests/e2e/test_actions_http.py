"""Supervisor overrides over HTTP: reroute to the next candidate or a named agency, designate."""

from __future__ import annotations

import pytest

from tests.builders import act, events_of, post_dispute


def test_reroute_recalls_lead_and_offers_next_candidate(live, svc):
    d = post_dispute(live, svc)
    first = d["routing"]["lead"]["agency"]
    r = act(live, d["id"], action="reroute", reason="村调委会负责人回避")
    assert r.status_code == 200, r.text
    after = r.json()
    leads = [h for h in after["handoffs"] if h["role"] == "lead"]
    assert [(h["agency"], h["state"], h["placement"]) for h in leads][0] == (first, "recalled", 1)
    assert leads[1]["state"] == "offered" and leads[1]["agency"] != first and leads[1]["placement"] == 2
    assert after["state"] == "handed_off"


def test_reroute_to_a_tried_agency_needs_designation(live, svc):
    d = post_dispute(live, svc)
    first = d["routing"]["lead"]["agency"]
    assert act(live, d["id"], action="reroute", reason="换一家").status_code == 200
    r = act(live, d["id"], action="reroute", reason="换回去", agency=first)
    assert r.status_code == 409 and "agency" in r.json()["error"]["fields"]
    r = act(live, d["id"], action="designate", reason="督办指定原单位办理", agency=first)
    assert r.status_code == 200
    lead = [h for h in r.json()["handoffs"] if h["role"] == "lead"][-1]
    assert lead["agency"] == first and lead["designated"] is True and lead["state"] == "offered"


def test_actions_need_reason_role_and_known_agency(live, svc):
    d = post_dispute(live, svc)
    r = act(live, d["id"], action="designate", reason="x")
    assert r.status_code == 422 and "agency" in r.json()["error"]["fields"]
    r = act(live, d["id"], action="reroute")
    assert r.status_code == 422 and "reason" in r.json()["error"]["fields"]
    r = act(live, d["id"], action="designate", reason="x", agency="NO-SUCH")
    assert r.status_code == 422 and "agency" in r.json()["error"]["fields"]
    r = live.post(f"/api/v1/disputes/{d['id']}/actions", {"action": "reroute", "reason": "x"}, role="clerk")
    assert r.status_code == 403
    r = act(live, "00000000-0000-0000-0000-000000000000", action="reroute", reason="x")
    assert r.status_code == 404


def test_actions_are_audited(live, svc):
    d = post_dispute(live, svc)
    act(live, d["id"], action="reroute", reason="当事人申请回避")
    evs = events_of(svc, d["id"])
    reroute = next(e for e in evs if e.type == "dispute.reroute")
    assert reroute.actor == "user:supervisor-1" and reroute.data["reason"] == "当事人申请回避"
    assert any(e.type == "handoff.recall" for e in evs)
    assert svc.verify_chain()["ok"]


@pytest.mark.parametrize("action", ["reroute", "designate"])
def test_rerouting_a_closed_dispute_is_a_state_conflict_whatever_agency_is_named(live, svc, action):
    """The state first: a supervisor is not asked to fix an agency code on a dispute that cannot be
    re-routed at all (a review found the split checking the agency first)."""
    d = post_dispute(live, svc)
    assert act(live, d["id"], action="close", reason="当事人自行和解").status_code == 200
    r = act(live, d["id"], action=action, reason="改派", agency="NO-SUCH-AGENCY")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "state_conflict"
