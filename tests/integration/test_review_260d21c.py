"""Review probes of 260d21c (New Year numbering, an agency connected mid-transaction, cancel_timers in
the buffer) and a86ea1c (/metrics summed over `serve --processes`).

Tests whose docstring says FAILS failed on a86ea1c (fixed since) (two only on PostgreSQL: run with
ROUTER_TEST_DATABASE_URL); those that say Guard pass and keep an invariant the change could break."""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import values
from sqlalchemy import event, select, update

from router import metrics, server
from router.services import delivery, disposition, supervision
from router.services.context import Actor
from router.store.models import Agency, Delivery, Timer
from tests.builders import CLERK, at_once, body, command, county, lead_of

SUPERVISOR = Actor("user", "review-supervisor", "supervisor")
REF = re.compile(r"〔(\d{4})〕(\d{6})号")


def _all_pull(svc: Any) -> None:
    """Every configured agency without its system for now (agencies.yaml still says push: a sync
    connects them again)."""
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.execute(update(Agency).where(Agency.endpoint.is_not(None)).values(delivery="pull"))


def _run(target: Any, errors: list[BaseException]) -> threading.Thread:
    def one() -> None:
        try:
            target()
        except BaseException as e:  # noqa: BLE001 - the test asserts on them
            errors.append(e)

    t = threading.Thread(target=one)
    t.start()
    return t


def test_a_reroute_of_a_held_referral_and_a_sync_connecting_its_agency_do_not_deadlock(svc, monkeypatch):
    """FAILS on PostgreSQL (passes on SQLite, whose writers queue). 改派 of a lead still held for a
    pull agency: the recall cancels the held delivery (operation.py `fire_handoff`, an UPDATE that
    locks that row, with no delivery buffered yet, so no feed lock before it) and the new lead's
    offer then takes the feed counter at commit. A sync that connects the old agency meanwhile takes
    the feed counter first (admin.py, new in 260d21c) and then waits for that held row: the two wait
    for each other and PostgreSQL kills one (DeadlockDetected)."""
    _all_pull(svc)
    try:
        d = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
        lead = lead_of(d)
        with svc.ctx.store.read() as s:
            assert s.scalar(select(Delivery.state).where(Delivery.handoff_id == lead["id"])) == "held"
        real, holding, go = supervision.recall, threading.Event(), threading.Event()

        def paused(*a: Any, **kw: Any) -> None:
            real(*a, **kw)
            holding.set()
            go.wait(10)

        monkeypatch.setattr(supervision, "recall", paused)
        errors: list[BaseException] = []
        t1 = _run(lambda: svc.act(d["id"], {"action": "reroute", "reason": "改派"}, SUPERVISOR), errors)
        assert holding.wait(10)
        t2 = _run(svc.sync_agencies, errors)
        time.sleep(1.5)  # the sync holds the feed counter and waits for the recalled delivery's row
        go.set()
        t1.join(30)
        t2.join(30)
        assert errors == [], errors
    finally:
        monkeypatch.undo()
        svc.sync_agencies()


def _pause_after(engine: Any, thread_name: str, fragment: str) -> tuple[threading.Event, threading.Event, Any]:
    """Hold the thread named `thread_name` right after its first statement containing `fragment`."""
    holding, go = threading.Event(), threading.Event()

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name == thread_name and fragment in statement and not holding.is_set():
            holding.set()
            go.wait(10)

    event.listen(engine, "after_cursor_execute", after)
    return holding, go, lambda: event.remove(engine, "after_cursor_execute", after)


def test_a_claim_that_finds_the_agency_disconnected_does_not_hold_back_a_delivery_it_was_given_again(svc):
    """FAILS on PostgreSQL (passes on SQLite). The other writer of `held`: a worker's claim of a pending
    delivery whose agency was switched to pull since (delivery.py `claim`) holds it back, having read
    the agency's mode without the feed counter's lock. A sync that connects the agency again
    meanwhile takes that lock, finds nothing held (the row is still `pending` when its UPDATE looks)
    and commits; the claim then writes `held`: held for a push agency, which nothing sends again."""
    d = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    lead = lead_of(d)
    with svc.ctx.store.read() as s:
        did = s.scalar(select(Delivery.id).where(Delivery.handoff_id == lead["id"]))
        assert s.get(Delivery, did).state == "pending"
    with svc.ctx.store.unit_of_work() as uow:  # an earlier sync took its system away
        uow.session.execute(update(Agency).where(Agency.code == lead["agency"]).values(delivery="pull"))
    holding, go, remove = _pause_after(svc.ctx.store.engine, "review-claim", "FROM agencies")
    try:
        errors: list[BaseException] = []
        claimed: list[Any] = []
        t1 = threading.Thread(target=lambda: claimed.append(delivery.claim(svc.ctx, did, "w1")), name="review-claim")
        t1.start()
        assert holding.wait(10)
        t2 = _run(svc.sync_agencies, errors)  # agencies.yaml: the agency has its system (push) again
        t2.join(1.5)
        go.set()
        t1.join(30)
        t2.join(30)
        assert errors == [] and len(claimed) == 1  # a job (sent after all) or None (held back)
        with svc.ctx.store.read() as s:
            assert s.get(Agency, lead["agency"]).delivery == "push"
            assert s.get(Delivery, did).state == "pending", "held for a push agency"
    finally:
        go.set()
        remove()
        svc.sync_agencies()


BEFORE_MIDNIGHT = datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)  # 23:59:59 on 31 December in Beijing
AFTER_MIDNIGHT = datetime(2026, 12, 31, 16, 0, 1, tzinfo=UTC)  # 00:00:01 on 1 January 2027


def _per_thread_clock(svc: Any, monkeypatch: Any) -> threading.local:
    local = threading.local()
    monkeypatch.setattr(svc.ctx, "clock", lambda: getattr(local, "now", BEFORE_MIDNIGHT))
    return local


def test_twins_at_once_across_midnight_one_dispatched_no_deadlock_numbers_gap_free(svc, monkeypatch):
    """Guard (passes on SQLite and PostgreSQL): twelve registrations at once, half at 23:59:59 on
    31 December and half at 00:00:01 on 1 January, eight of them one applicant's. No error (no
    deadlock between the two counters and the feed), exactly one of the twins dispatched, and each
    year's numbers gap-free."""
    local = _per_thread_clock(svc, monkeypatch)
    twin = body(county(svc)["v"])
    lock, n = threading.Lock(), iter(range(100))

    def one() -> dict[str, Any]:
        with lock:
            i = next(n)
        local.now = BEFORE_MIDNIGHT if i % 2 else AFTER_MIDNIGHT
        return svc.register_dispute(command(twin if i < 8 else body(county(svc)["v"])), CLERK)[1]

    results, errors = at_once(12, one, timeout=120)
    assert errors == [], errors
    by_year: dict[int, list[int]] = {}
    for r in results:
        m = REF.search(r["reference"])
        assert m, r["reference"]
        by_year.setdefault(int(m.group(1)), []).append(int(m.group(2)))
    assert {y: sorted(v) for y, v in by_year.items()} == {2026: [1, 2, 3, 4, 5, 6], 2027: [1, 2, 3, 4, 5, 6]}
    held = [r for r in results if r["state"] == "held_duplicate"]
    assert len(held) == 7, sorted(r["state"] for r in results)


# ------------------------------------------------------------------ cancel_timers in the buffer
def _timers(svc: Any, dispute_id: str) -> tuple[list[str], list[str]]:
    with svc.ctx.store.read() as s:
        rows = s.execute(select(Timer.kind, Timer.cancelled_at, Timer.fired_at).where(Timer.dispute_id == dispute_id)
                         .order_by(Timer.kind)).all()
    return [k for k, _, _ in rows], [k for k, c, f in rows if c is None and f is None]


@pytest.mark.parametrize("early", [False, True], ids=["buffered", "written-early"])
def test_a_timer_of_a_dispute_made_here_is_cancelled_whether_buffered_or_written(svc, monkeypatch, early):
    """Guard (passes): 当场履行 cancels the fulfilment clock (fulfil_due) of a dispute made in the same
    transaction. Buffered, it is retired in memory; written early (as a savepoint or a read of the
    timers would write it), the dispute is still only pending in the session yet the row is in the
    table, and cancel_timers must not skip its UPDATE (it does not: `written`)."""
    real = disposition.start_fulfilment

    def with_clock(op: Any, **kw: Any) -> None:
        real(op, **kw)
        op.uow.add_timer("fulfil_due", op.at, "probe", at=op.at, dispute_id=op.dispute.id)
        if early:
            op.uow.write_pending()

    monkeypatch.setattr(disposition, "start_fulfilment", with_clock)
    on_spot = {"type": "resolved_on_spot", "terms": "当场归还", "fulfilled": True}
    d = svc.register_dispute(command(body(county(svc)["v"], disposition=on_spot)), CLERK)[1]
    assert "待编号" not in d["reference"]
    made, live = _timers(svc, d["id"])
    assert "fulfil_due" in made and "fulfil_due" not in live, (made, live)


# ------------------------------------------------------------------ a86ea1c: metrics shared by serve
class _NoBackground:
    def __init__(self, *_: Any, **__: Any) -> None:
        pass

    def start(self) -> _NoBackground:
        return self

    def close(self) -> None:
        pass


def test_serve_with_processes_twice_in_one_process_gives_its_web_processes_a_directory_that_exists(svc,
                                                                                                  monkeypatch):
    """FAILS. `serve --processes` points PROMETHEUS_MULTIPROC_DIR at a new directory (metrics.share)
    and removes the directory when it stops, but leaves the variable (and prometheus_client's
    multiprocess ValueClass) behind: afterwards the process's /metrics raises (MultiProcessCollector on a
    missing directory), and a second serve in the same process (an embedding, the test suite) takes
    the stale variable for an operator's own, so its gunicorn processes count into a directory that
    no longer exists (FileNotFoundError at their first metric, after a registration's commit)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        pytest.skip("an operator's own PROMETHEUS_MULTIPROC_DIR: serve shares nothing itself")
    original = values.ValueClass
    given: list[tuple[str | None, bool]] = []

    def web(*_: Any, **__: Any) -> None:
        where = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        given.append((where, bool(where) and os.path.isdir(where)))

    monkeypatch.setattr(server, "_serve_processes", web)
    monkeypatch.setattr(server, "Background", _NoBackground)
    try:
        server.serve(svc, "127.0.0.1", 0, processes=2, announce=lambda _: None)
        after: list[str] = []
        try:
            metrics.exposition()
        except Exception as e:  # noqa: BLE001 - reported below
            after.append(repr(e))
        server.serve(svc, "127.0.0.1", 0, processes=2, announce=lambda _: None)
        assert ([ok for _, ok in given], after) == ([True, True], []), given
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        values.ValueClass = original
        for m in metrics._ALL:
            m.clear()
