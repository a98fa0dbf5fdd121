"""Schedulers sharing timers: on PostgreSQL two of them take rows with FOR UPDATE SKIP LOCKED; each
timer fires exactly once in effect, and a scheduler that dies mid-timer leaves it due, not lost."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from router.services import build_services
from router.store.db import make_engine
from router.store.models import Event, Handoff, Timer
from tests.builders import register


def _acknowledged_handoffs(svc, n):
    out = []
    for _ in range(n):
        d = register(svc)
        lead = d["handoffs"][0]
        svc.agency_event(lead["agency"], lead["id"], {"event_id": str(uuid.uuid4()), "type": "acknowledged"})
        out.append((d["id"], lead["id"]))
    return out


def _add_due_timers(svc, handoffs, per_handoff, due):
    with svc.ctx.store.unit_of_work() as uow:
        for dispute_id, handoff_id in handoffs:
            for _ in range(per_handoff):
                uow.session.add(Timer(kind="handle_warn", due_at=due, rule="scheduler test", dispute_id=dispute_id,
                                      handoff_id=handoff_id, data={"handoff_id": handoff_id}, created_at=due))


def run_schedulers(svc, settings, clock, *, limit, left, n=2):
    """n schedulers, each in a thread with its own engine (as separate processes would have), until
    none fires anything and `left(svc)` finds nothing unfired; returns how many each fired."""
    engines = [make_engine(settings.database_url) for _ in range(n)]
    schedulers = [build_services(settings, engine=e, clock=clock) for e in engines]
    fired = [0] * n
    errors: list[BaseException] = []

    def run(i):
        try:
            while True:
                k = schedulers[i].run_due_timers(limit=limit)
                fired[i] += k
                if k == 0 and not left(svc):
                    break
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for e in engines:
        e.dispose()
    assert not errors, errors
    return fired


def test_two_schedulers_fire_two_thousand_timers_each_exactly_once(svc, settings, clock):
    handoffs = _acknowledged_handoffs(svc, 20)
    due = clock() - timedelta(seconds=1)
    _add_due_timers(svc, handoffs, 100, due)
    fired = run_schedulers(svc, settings, clock, limit=100, left=_left)
    with svc.ctx.store.read() as s:
        test_timers = list(s.scalars(select(Timer.id).where(Timer.rule == "scheduler test")))
        assert len(test_timers) == 2000
        assert s.scalar(select(func.count()).select_from(Timer).where(
            Timer.rule == "scheduler test", Timer.fired_at.is_(None))) == 0
        per_timer = Counter(e.data.get("timer") for e in s.scalars(select(Event).where(Event.type == "handoff.warned")))
    assert all(per_timer[t] == 1 for t in test_timers), "a timer fired twice or not at all"
    assert sum(fired) == 2000
    if not settings.is_sqlite:
        assert min(fired) > 0, f"one scheduler did all the work: {fired}"  # both took rows
    assert svc.verify_chain()["ok"]


def _left(svc):
    with svc.ctx.store.read() as s:
        return s.scalar(select(func.count()).select_from(Timer).where(
            Timer.fired_at.is_(None), Timer.cancelled_at.is_(None), Timer.due_at <= svc.ctx.now(),
            Timer.rule == "scheduler test"))


def test_a_scheduler_dying_mid_timer_leaves_it_due(svc, clock, monkeypatch):
    from router.store.uow import UnitOfWork

    handoffs = _acknowledged_handoffs(svc, 1)
    _add_due_timers(svc, handoffs, 1, clock() - timedelta(seconds=1))
    real = UnitOfWork.append_event

    def die(self, **kw):
        if kw.get("type") == "handoff.warned":
            raise RuntimeError("scheduler killed mid-way")
        return real(self, **kw)

    monkeypatch.setattr(UnitOfWork, "append_event", die)
    with pytest.raises(RuntimeError):
        svc.run_due_timers()
    monkeypatch.setattr(UnitOfWork, "append_event", real)
    with svc.ctx.store.read() as s:
        t = s.scalars(select(Timer).where(Timer.rule == "scheduler test")).one()
        assert t.fired_at is None  # rolled back with everything else
    assert svc.run_due_timers() == 1
    with svc.ctx.store.read() as s:
        h = s.get(Handoff, handoffs[0][1])
        warned = s.scalars(select(Event).where(Event.handoff_id == h.id, Event.type == "handoff.warned")).all()
    assert len(warned) == 1


def test_two_schedulers_expiring_silent_handoffs_reroute_each_once(svc, settings, clock):
    """The heavy rung: expiry re-routes and cancels sibling timers, which must not deadlock."""
    ids = []
    for _ in range(60):
        d = register(svc)
        ids.append(d["id"])
    clock.advance(days=10)
    run_schedulers(svc, settings, clock, limit=50, left=_due)
    with svc.ctx.store.read() as s:
        for dispute_id in ids:
            leads = s.scalars(select(Handoff).where(Handoff.dispute_id == dispute_id, Handoff.role == "lead")
                              .order_by(Handoff.placement)).all()
            assert [h.state for h in leads][:1] == ["expired"] and leads[1].state == "offered"
            expiries = s.scalars(select(Event).where(Event.dispute_id == dispute_id,
                                                     Event.type == "handoff.expire")).all()
            assert len(expiries) == 1
    assert svc.verify_chain()["ok"]


def _due(svc):
    with svc.ctx.store.read() as s:
        return s.scalar(select(func.count()).select_from(Timer).where(
            Timer.fired_at.is_(None), Timer.cancelled_at.is_(None), Timer.due_at <= svc.ctx.now()))
