"""The store's chains checked from keyed checkpoints (issue 14, item 7): a check reads only the chains
that moved, and a rewrite by someone who can write the database, hashes and heads recomputed, shows
at the next full check (and at the next incremental one once the chain moves) instead of passing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from router.store.chain import event_hash, verify_stream
from router.store.models import AuditCheckpoint, Dispute, Event
from tests.builders import register


def _rewrite(svc: Any, dispute_id: str, seq: int) -> None:
    """What a database administrator can do: edit an event, recompute every later hash and the head."""
    with svc.ctx.store.unit_of_work() as uow:
        s = uow.session
        events = list(s.scalars(select(Event).where(Event.stream == dispute_id).order_by(Event.stream_seq)))
        prev = None
        for e in events:
            if e.stream_seq == seq:
                e.actor = "user:someone-else"
            if e.stream_seq >= seq:
                if prev is not None:
                    e.prev_hash = prev
                e.hash = event_hash(e)
            prev = e.hash
        s.get(Dispute, dispute_id).event_head = prev


def test_a_second_check_reads_only_what_moved(svc):
    register(svc)
    register(svc)
    first = svc.verify_chain()
    assert first["ok"] and first["streams_checked"] >= 2 and first["mode"] == "incremental"
    again = svc.verify_chain()
    assert again["ok"] and again["streams_checked"] == 0 and again["events_checked"] == 0
    register(svc)
    third = svc.verify_chain()
    assert third["ok"] and 1 <= third["streams_checked"] <= 2  # the new dispute (and the system chain, if it moved)


def test_a_rewrite_with_hashes_recomputed_is_caught_through_the_checkpoint(svc):
    d = register(svc)
    assert svc.verify_chain()["ok"]
    _rewrite(svc, d["id"], 1)
    with svc.ctx.store.read() as s:
        assert verify_stream(s, d["id"]) is None  # the plain chain cannot tell
    full = svc.verify_chain(full=True)
    assert not full["ok"] and full["first_broken"]["stream"] == d["id"]
    assert "rewritten" in full["first_broken"]["problem"]


def test_a_rewrite_shows_incrementally_once_the_chain_moves(svc):
    d = register(svc)
    assert svc.verify_chain()["ok"]
    _rewrite(svc, d["id"], 1)
    svc.act(d["id"], {"action": "urge", "reason": "催办"}, _supervisor())
    r = svc.verify_chain()
    assert not r["ok"] and r["first_broken"]["stream"] == d["id"], r


def test_a_checkpoint_rewritten_to_match_is_caught_by_its_mac(svc):
    d = register(svc)
    assert svc.verify_chain()["ok"]
    _rewrite(svc, d["id"], 1)
    with svc.ctx.store.unit_of_work() as uow:
        head = uow.session.get(Dispute, d["id"]).event_head
        uow.session.execute(update(AuditCheckpoint).where(AuditCheckpoint.stream == d["id"]).values(hash=head))
    r = svc.verify_chain(full=True)
    assert not r["ok"] and "checkpoint altered" in r["first_broken"]["problem"], r


def test_a_tail_cut_after_the_check_is_caught(svc):
    d = register(svc)
    svc.act(d["id"], {"action": "urge", "reason": "催办"}, _supervisor())
    assert svc.verify_chain()["ok"]
    with svc.ctx.store.unit_of_work() as uow:
        s = uow.session
        dispute = s.get(Dispute, d["id"])
        last = s.scalars(select(Event).where(Event.stream == d["id"]).order_by(Event.stream_seq.desc())).first()
        prev = s.scalar(select(Event.hash).where(Event.stream == d["id"], Event.stream_seq == last.stream_seq - 1))
        s.delete(last)
        dispute.event_count, dispute.event_head = last.stream_seq - 1, prev
    r = svc.verify_chain()
    assert not r["ok"] and r["first_broken"]["stream"] == d["id"], r


def _supervisor() -> Any:
    from router.services.context import Actor
    return Actor("user", "audit-supervisor", "supervisor")
