"""The agencies' gap-free feed (docs/agency-guide.md §4): every delivery and notice made to an agency,
in order, each with a cursor; what a pull agency reads there is delivered to it."""

from __future__ import annotations

import threading

import pytest

import router.services.agency as agency_mod
from router.services import Actor
from tests.builders import SUPERVISOR, designated, events_of, lead_of, register

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


def test_two_agencies_reading_their_feeds_at_once_do_not_deadlock(svc, clock, offline, monkeypatch):
    """Two agencies' feeds can name the same two disputes in opposite orders (one moved from A to B,
    another from B to A). Each referral is read in its own transaction, so two concurrent reads never
    hold one dispute while waiting for the other (once one transaction for the page: a deadlock)."""
    if svc.ctx.settings.is_sqlite:
        pytest.skip("row locks: PostgreSQL only (ROUTER_TEST_DATABASE_URL); SQLite serialises on the write lock")
    d1, d2 = register(svc), register(svc)
    a, b = offline("pull", d1), offline("pull", d2)
    svc.act(d1["id"], {"action": "designate", "agency": a, "reason": "指定"}, SUPERVISOR)
    svc.act(d2["id"], {"action": "designate", "agency": b, "reason": "指定"}, SUPERVISOR)
    svc.act(d2["id"], {"action": "designate", "agency": a, "reason": "改派"}, SUPERVISOR)
    svc.act(d1["id"], {"action": "designate", "agency": b, "reason": "改派"}, SUPERVISOR)

    original, both_read_one = agency_mod._referral, threading.Barrier(2, timeout=10)
    seen = threading.local()

    def paced(*args):  # each reader pauses once it has read its first referral
        out = original(*args)
        if not getattr(seen, "done", False):
            seen.done = True
            both_read_one.wait()
        return out

    monkeypatch.setattr(agency_mod, "_referral", paced)
    errors: list[BaseException] = []

    def read(code: str) -> None:
        try:
            svc.agency_feed(code, 0, 100)
        except BaseException as e:  # noqa: BLE001 - asserted below
            errors.append(e)

    readers = [threading.Thread(target=read, args=(c,)) for c in (a, b)]
    for t in readers:
        t.start()
    for t in readers:
        t.join(30)
    assert not errors, f"a feed read failed: {errors[0]!r}"


def test_a_feed_read_does_not_hold_up_work_on_disputes_it_has_already_read(svc, clock, offline, monkeypatch):
    """A supervisor's 催办 on a dispute the reader has already passed does not wait for the rest of the
    page (once the whole page was one transaction, holding every dispute it read, and on SQLite the
    write lock, to its end)."""
    code, held = designated(svc, offline, 2)
    original = agency_mod._referral
    holding, release = threading.Event(), threading.Event()

    def slow(ctx, code_, dispute_id, handoff_id, pulls):  # the second referral takes a while to come
        if handoff_id == held[1][1]["id"]:
            holding.set()
            release.wait(10)
        return original(ctx, code_, dispute_id, handoff_id, pulls)

    monkeypatch.setattr(agency_mod, "_referral", slow)
    reader = threading.Thread(target=lambda: svc.agency_feed(code, 0, 100))
    reader.start()
    assert holding.wait(10)
    urged = threading.Thread(target=lambda: svc.act(held[0][0], {"action": "urge", "reason": "请尽快"}, SUPERVISOR))
    urged.start()
    urged.join(3)
    blocked = urged.is_alive()
    release.set()
    reader.join(20)
    urged.join(20)
    assert not blocked, "the urge waited for the feed read to finish its page"
