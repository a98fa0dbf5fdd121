"""The agencies' gap-free feed (docs/agency-guide.md §4): every delivery and notice made to an agency,
in order, each with a cursor; what a pull agency reads there is delivered to it."""

from __future__ import annotations

from router.services import Actor
from tests.builders import designated, events_of, lead_of, register

SUP = Actor("user", "feed-supervisor", "supervisor")


def test_the_feed_gives_each_referral_and_notice_once_in_order(svc, clock, offline):
    code, held = designated(svc, offline, 3)
    svc.act(held[0][0], {"action": "urge", "reason": "请尽快签收"}, SUP)
    page = svc.agency_feed(code, 0, 100)
    assert [i["kind"] for i in page["items"]] == ["handoff.offered"] * 3 + ["handoff.urged"]
    cursors = [i["cursor"] for i in page["items"]]
    assert cursors == sorted(cursors) and len(set(cursors)) == 4 and page["next"] == cursors[-1]
    first = page["items"][0]
    assert first["payload"]["handoff_id"] == held[0][1]["id"] and first["payload"]["parties"]
    assert first["state"] == "delivered"  # read by a pull agency: delivered to it
    assert all(lead_of(svc.get_dispute(d))["state"] == "delivered" for d, _ in held)
    assert events_of(svc, held[0][0], "pii.revealed", data_only=True)[-1]["via"] == "agency_feed"
    assert svc.agency_feed(code, page["next"], 100) == {"items": [], "next": page["next"]}
    two = svc.agency_feed(code, 0, 2)
    assert [i["cursor"] for i in two["items"]] == cursors[:2]
    assert [i["cursor"] for i in svc.agency_feed(code, two["next"], 100)["items"]] == cursors[2:]


def test_a_referral_taken_back_comes_without_its_payload(svc, clock, offline):
    code, [(dispute_id, _)] = designated(svc, offline, 1)
    svc.act(dispute_id, {"action": "reroute", "reason": "改派"}, SUP)
    offered = [i for i in svc.agency_feed(code, 0, 100)["items"] if i["kind"] == "handoff.offered"]
    assert offered[0]["state"] == "recalled" and offered[0]["payload"] is None


def test_another_agency_sees_none_of_it(svc, clock, offline):
    code, _ = designated(svc, offline, 1)
    other = offline("pull", register(svc))
    assert svc.agency_feed(other, 0, 100)["items"] == []
    assert svc.agency_feed(code, 0, 100)["items"]
