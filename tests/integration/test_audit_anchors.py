"""Daily audit anchors (issue 14, item 7): one digest, kept outside the database, commits to the
verified history of every chain up to it, so a rewrite before it shows even when made by someone
who holds the database *and* the service's secret (who can re-sign checkpoints)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select, update

from router.services.anchors import digest_of
from router.store.models import AuditAnchor, AuditCheckpoint, Event
from tests.builders import register
from tests.integration.test_audit_incremental import _rewrite, _supervisor
from tests.probes import witness


def _anchored(svc) -> dict[str, Any]:
    assert svc.verify_chain()["ok"]
    anchor, refused = svc.make_anchor()
    assert refused is None
    return anchor


def test_an_anchor_holds_the_verified_heads_and_its_digest_can_be_recomputed(svc):
    a, b = register(svc), register(svc)
    anchor = _anchored(svc)
    heads = {stream: (seq, h) for stream, seq, h in anchor["heads"]}
    assert {a["id"], b["id"]} <= set(heads)
    with svc.ctx.store.read() as s:
        for d in (a, b):
            last = s.scalars(select(Event).where(Event.stream == d["id"]).order_by(Event.stream_seq.desc())).first()
            assert heads[d["id"]] == (last.stream_seq, last.hash)
    assert anchor["seq"] == 1 and anchor["prev_digest"] == "0" * 64
    assert digest_of(anchor["seq"], anchor["made_at"], anchor["prev_digest"], anchor["heads"]) == anchor["digest"]


def test_the_next_anchor_holds_only_what_moved_and_links_to_the_last(svc):
    a, b = register(svc), register(svc)
    first = _anchored(svc)
    svc.act(a["id"], {"action": "urge", "reason": "催办"}, _supervisor())
    second = _anchored(svc)
    assert second["seq"] == 2 and second["prev_digest"] == first["digest"]
    moved = {stream for stream, _, _ in second["heads"]}
    assert a["id"] in moved and b["id"] not in moved
    assert second["streams"] == first["streams"]
    assert svc.check_anchor(first["digest"])["ok"] and svc.check_anchor(second["digest"])["ok"]


def test_a_rewrite_with_checkpoints_re_signed_passes_the_checks_but_not_the_anchor(svc):
    d = register(svc)
    anchor = _anchored(svc)
    _rewrite(svc, d["id"], 1)
    with svc.ctx.store.engine.begin() as conn:  # with the secret too: drop the checkpoint, check again
        conn.execute(delete(AuditCheckpoint).where(AuditCheckpoint.stream == d["id"]))
    assert svc.verify_chain(full=True)["ok"]  # the checkpoints vouch for the rewritten chain now
    r = svc.check_anchor(anchor["digest"])
    assert not r["ok"] and r["broken"][0]["stream"] == d["id"]
    assert r["broken"][0]["problem"] == "history rewritten before anchor 1"


def test_a_tail_cut_before_the_anchor_is_caught(svc):
    d = register(svc)
    svc.act(d["id"], {"action": "urge", "reason": "催办"}, _supervisor())
    anchor = _anchored(svc)
    with svc.ctx.store.engine.begin() as conn:
        last = conn.execute(select(Event.stream_seq).where(Event.stream == d["id"])
                            .order_by(Event.stream_seq.desc())).scalar()
        conn.execute(delete(Event).where(Event.stream == d["id"], Event.stream_seq == last))
    r = svc.check_anchor(anchor["digest"])
    assert not r["ok"] and r["broken"][0]["stream"] == d["id"]


def test_anchors_rewritten_to_match_lose_the_digest_kept_outside(svc):
    register(svc)
    kept = _anchored(svc)["digest"]
    with svc.ctx.store.engine.begin() as conn:  # a head changed, the digest recomputed to fit
        a = conn.execute(select(AuditAnchor)).one()
        heads = [[s, n, "f" * 64] for s, n, _ in a.heads]
        made = _made_at(svc)
        conn.execute(update(AuditAnchor).values(heads=heads, digest=digest_of(1, made, a.prev_digest, heads)))
    r = svc.check_anchor(kept)
    assert not r["ok"] and "no anchor in the store has this digest" in r["problem"]


def test_an_anchor_altered_without_its_digest_is_named(svc):
    register(svc)
    first = _anchored(svc)
    second = _anchored(svc)
    with svc.ctx.store.engine.begin() as conn:
        conn.execute(update(AuditAnchor).where(AuditAnchor.seq == 1).values(heads=[]))
    r = svc.check_anchor(second["digest"])
    assert not r["ok"] and r["problem"].startswith("anchor 1 altered")
    assert first["digest"] != second["digest"]


def test_the_daily_audit_anchors_once_a_day_and_the_witness_gets_it(svc, clock):
    server, got = witness()
    svc.ctx.settings = _with(svc, anchor_url=f"http://127.0.0.1:{server.server_port}/anchors")
    try:
        register(svc)
        result = svc.daily_audit()
        assert result["ok"] and result["anchor"]["seq"] == 1
        assert [g["digest"] for g in got] == [result["anchor"]["digest"]]
        sent = got[0]
        assert digest_of(sent["seq"], sent["made_at"], sent["prev_digest"], sent["heads"]) == sent["digest"]
        clock.advance(hours=25)
        assert svc.daily_audit()["anchor"]["seq"] == 2
        svc._last_full_audit = None  # another scheduler process, an hour later: the day has its anchor
        clock.advance(hours=1)
        assert "anchor" not in svc.daily_audit()
        assert [a["sent_at"] is not None for a in svc.recent_anchors()] == [True, True]
    finally:
        server.shutdown()


def test_an_anchor_the_witness_did_not_take_is_offered_again(svc, clock):
    svc.ctx.settings = _with(svc, anchor_url="http://127.0.0.1:9/anchors")  # nothing listens there
    register(svc)
    assert svc.verify_chain()["ok"]
    anchor, refused = svc.make_anchor()
    assert refused and "could not reach" in refused
    (listed,) = svc.recent_anchors()
    assert listed["sent_at"] is None and listed["send_error"] == refused
    assert svc.check_anchor(anchor["digest"])["ok"]  # kept all the same


def _with(svc, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(svc.ctx.settings, **changes)


def _made_at(svc) -> str:
    from router.store.chain import canonical_time

    with svc.ctx.store.read() as s:
        return canonical_time(s.scalars(select(AuditAnchor.made_at)).one())


def test_no_anchor_is_made_on_top_of_altered_anchors(svc):
    from router.domain.errors import StateConflict

    register(svc)
    _anchored(svc)
    with svc.ctx.store.engine.begin() as conn:
        conn.execute(update(AuditAnchor).where(AuditAnchor.seq == 1).values(heads=[]))
    with pytest.raises(StateConflict) as e:
        svc.make_anchor(send=False)
    assert "anchor 1 altered" in e.value.message_en
