"""Review probes of a09c1bf (受理编号 taken at the end, store/provisional.py; SQLite's WriteLate).

Each test states one invariant the change must keep. Those marked FAILS in their docstring fail on
a09c1bf (they pass on its parent on SQLite, where the intake held the writer lock from its start);
the others pass and guard something the change could easily break."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from router import metrics
from router.services import intake
from router.store.chain import verify_stream
from router.store.models import Agency, Counter, Delivery, Dispute, Event, Outbox
from tests.builders import CLERK, at_once, body, command, county, events_of
from tests.integration.test_issue13_review2_probes import _agency_of

REF = re.compile(r"〔(\d{4})〕(\d{6})号")


def _seq(reference: str) -> tuple[int, int]:
    m = REF.search(reference)
    assert m, reference
    return int(m.group(1)), int(m.group(2))


def _during_routing(monkeypatch: Any, meanwhile: Any, wait: float = 3.0) -> list[threading.Thread]:
    """Run `meanwhile` in another thread while the first registration is being routed (after its
    routing has been worked out, before its rows are written). The thread is waited for `wait`
    seconds only: where the registration holds the writer lock, it finishes after the commit."""
    real, started = intake.apply_decision, []

    def route(op: Any, decision: Any) -> None:
        real(op, decision)
        if not started:
            t = threading.Thread(target=meanwhile)
            started.append(t)
            t.start()
            t.join(wait)

    monkeypatch.setattr(intake, "apply_decision", route)
    return started


# ------------------------------------------------------------------ SQLite reads before the write lock
BEFORE_MIDNIGHT = datetime(2026, 12, 31, 15, 59, 50, tzinfo=UTC)  # 23:59:50 on 31 December in Beijing
AFTER_MIDNIGHT = datetime(2026, 12, 31, 16, 0, 5, tzinfo=UTC)  # 00:00:05 on 1 January 2027


@pytest.mark.parametrize(("mine_at", "twin_at"), [(BEFORE_MIDNIGHT, AFTER_MIDNIGHT), (AFTER_MIDNIGHT, BEFORE_MIDNIGHT)],
                         ids=["twin-after-midnight", "twin-before-midnight"])
def test_twins_registered_either_side_of_new_year_are_caught(svc, clock, monkeypatch, mine_at, twin_at):
    """FAILED on 7ffa934 on SQLite (a regression there; on PostgreSQL the old code had the same gap).
    The check that something registered meanwhile looked only at this year's counter: a twin numbered
    from the other year's counter left this one's number at seen+1, the duplicate check was not asked
    again, and neither registration was held for 并单."""
    clock.now = mine_at
    b = body(county(svc)["v"])
    twin: dict[str, Any] = {}

    def meanwhile() -> None:
        clock.now = twin_at
        twin.update(svc.register_dispute(command(b), CLERK)[1])

    threads = _during_routing(monkeypatch, meanwhile)
    mine = svc.register_dispute(command(b), CLERK)[1]
    threads[0].join(30)
    assert {_seq(mine["reference"])[0], _seq(twin["reference"])[0]} == {2026, 2027}
    states = sorted([mine["state"], twin["state"]])
    assert states.count("held_duplicate") == 1, states


def test_registrations_at_once_on_new_years_day_neither_deadlock_nor_miss_each_other(svc, clock):
    """On 1 January each registration also locks the earlier year's counter (moving it by nothing)
    before its own: taken in one order, so concurrent ones queue rather than deadlock, and the 2026
    counter is left where it was."""
    clock.now = BEFORE_MIDNIGHT
    b = body(county(svc)["v"])
    first = svc.register_dispute(command(b), CLERK)[1]
    clock.now = AFTER_MIDNIGHT
    results, errors = at_once(4, lambda: svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1])
    assert errors == [] and len(results) == 4
    assert sorted(_seq(r["reference"]) for r in results) == [(2027, n) for n in (1, 2, 3, 4)]
    again = svc.register_dispute(command(b), CLERK)[1]
    assert again["state"] == "held_duplicate" and _seq(again["reference"]) == (2027, 5)
    with svc.ctx.store.read() as s:
        assert s.scalar(select(Counter.value).where(Counter.name == "reference:2026")) == _seq(first["reference"])[1]


def test_an_agency_connected_while_a_registration_routes_to_it_gets_its_delivery(svc, monkeypatch):
    """FAILED on 7ffa934 on SQLite (a regression there; on PostgreSQL the old code had the same gap). The
    delivery's mode (push / held for pull or paper) is read when the handoff is offered, before the
    write lock: an agencies.yaml sync that gives the agency a system meanwhile releases the held
    deliveries it finds (admin.sync_agencies), but not this one, still uncommitted, which was then
    written `held` for a push agency: a lost update. Nothing ever sends a held delivery to a push
    agency again."""
    with svc.ctx.store.unit_of_work() as uow:  # every configured agency without its system for now
        uow.session.execute(update(Agency).where(Agency.endpoint.is_not(None)).values(delivery="pull"))
    try:
        sync: dict[str, Any] = {}
        threads = _during_routing(monkeypatch, lambda: sync.update(svc.sync_agencies()))
        d = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
        threads[0].join(30)
        assert sync["updated"] > 0
        with svc.ctx.store.read() as s:
            rows = s.execute(select(Delivery.state, Agency.delivery).join(Agency, Agency.code == Delivery.agency_code)
                             .where(Delivery.dispute_id == d["id"], Delivery.kind == "handoff.offered")).all()
        assert rows and all(mode == "push" for _, mode in rows)
        assert [state for state, _ in rows] == ["pending"] * len(rows), rows
    finally:
        svc.sync_agencies()


def test_an_agency_connected_after_the_feed_positions_are_taken_gets_its_delivery(svc, monkeypatch):
    """The other order: the sync starts once the registration holds the feed counter (its modes read
    again, still `pull`). It waits for that lock (services/admin.py) until the registration commits,
    so the delivery it then finds held is released. Without the wait, on PostgreSQL the sync's update
    missed the uncommitted row and the delivery stayed held."""
    from router.store import uow as uow_module
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.execute(update(Agency).where(Agency.endpoint.is_not(None)).values(delivery="pull"))
    real, started, sync = uow_module._release_connected, [], {}

    def then_sync(conn: Any, deliveries: Any) -> None:
        real(conn, deliveries)
        if not started and any(row["kind"] == "handoff.offered" for row in deliveries):
            t = threading.Thread(target=lambda: sync.update(svc.sync_agencies()))
            started.append(t)
            t.start()
            t.join(2)

    monkeypatch.setattr(uow_module, "_release_connected", then_sync)
    try:
        d = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
        started[0].join(30)
        assert sync["updated"] > 0
        with svc.ctx.store.read() as s:
            states = s.scalars(select(Delivery.state).where(Delivery.dispute_id == d["id"],
                                                            Delivery.kind == "handoff.offered")).all()
        assert states and set(states) == {"pending"}, states
    finally:
        monkeypatch.undo()
        svc.sync_agencies()


# ------------------------------------------------------------------ paths that write the buffer early
def test_a_dispute_resolved_on_the_spot_is_registered_in_one_attempt(svc, monkeypatch):
    """FAILED on 7ffa934 (cost, not correctness). 当场化解 with 当场履行 runs record_fulfilment, whose
    cancel_timers touched the buffered timers: the buffer was written under the stand-in, settle refused
    (Unsettled) and every such registration was worked out twice, the first time holding SQLite's write lock from
    that early write on. The fast path never applied to this kind of registration."""
    real, attempts = intake._register, []

    def counting(*a: Any, **kw: Any) -> Any:
        attempts.append(kw["number_first"])
        return real(*a, **kw)

    monkeypatch.setattr(intake, "_register", counting)
    b = body(county(svc)["v"], disposition={"type": "resolved_on_spot", "terms": "当场归还", "fulfilled": True})
    d = svc.register_dispute(command(b), CLERK)[1]
    assert "待编号" not in str(d) and REF.search(d["reference"])
    assert attempts == [False], attempts


# ------------------------------------------------------------------ guards (these pass)
def test_an_error_after_the_write_lock_releases_it_and_the_connection_is_reusable(svc, monkeypatch):
    """An error once the late write lock is taken (here: while the dispute's rows are inserted) rolls
    back and releases SQLite's writer lock; the next registrations, on this thread (the same pooled
    connection) and on another, go through, and nothing of the failed one is left."""
    real, failed = intake.UnitOfWork.insert_new_dispute, []

    def boom(self: Any, d: Any) -> bool:
        if not failed:
            failed.append(d.id)
            real(self, d)
            raise RuntimeError("disk full")
        return real(self, d)

    monkeypatch.setattr(intake.UnitOfWork, "insert_new_dispute", boom)
    with pytest.raises(RuntimeError):
        svc.register_dispute(command(body(county(svc)["v"])), CLERK)
    results, errors = at_once(2, lambda: svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1], timeout=20)
    assert errors == [] and len(results) == 2
    again = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    with svc.ctx.store.read() as s:
        assert s.get(Dispute, failed[0]) is None
        assert s.scalar(select(func.count()).select_from(Event).where(Event.dispute_id == failed[0])) == 0
    assert sorted(_seq(r["reference"])[1] for r in [*results, again]) == [1, 2, 3]


def test_an_error_before_any_write_leaves_no_transaction_open(svc, monkeypatch):
    """A registration that fails before its first write (no BEGIN was issued on SQLite) hands its
    connection back clean: a unit of work on it afterwards is one transaction, rolled back whole."""

    def fail(op: Any, decision: Any) -> None:
        raise RuntimeError("routing failed")

    monkeypatch.setattr(intake, "apply_decision", fail)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            svc.register_dispute(command(body(county(svc)["v"])), CLERK)
    monkeypatch.undo()

    class _Stop(Exception):
        pass

    with pytest.raises(_Stop), svc.ctx.store.unit_of_work() as uow:
        uow.next_in_sequence("probe")
        raise _Stop
    with svc.ctx.store.read() as s:
        assert s.get(Counter, "probe") is None
        assert s.scalar(select(func.count()).select_from(Dispute)) == 0
    d = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    assert _seq(d["reference"])[1] == 1


def test_the_retry_counts_and_announces_once(svc, monkeypatch):
    """A registration done again numbered first (a twin committed meanwhile) is counted once in the
    metrics and has one registered event, one announcement and one set of deliveries."""
    b = body(county(svc)["v"])
    twin: dict[str, Any] = {}
    real_register, attempts = intake._register, []

    def counting(*a: Any, **kw: Any) -> Any:
        attempts.append(kw["number_first"])
        return real_register(*a, **kw)

    threads = _during_routing(monkeypatch, lambda: twin.update(svc.register_dispute(command(b), CLERK)[1]), wait=30)
    monkeypatch.setattr(intake, "_register", counting)
    before = metrics.DISPUTES_REGISTERED.labels("NEIGHBOUR", "walk_in")._value.get()
    mine = svc.register_dispute(command(b), CLERK)[1]
    threads[0].join(30)
    assert mine["state"] == "held_duplicate" and mine["duplicate_of"]["id"] == twin["id"]
    assert attempts == [False, False, True]  # mine, the twin's (inside), mine again numbered first
    assert metrics.DISPUTES_REGISTERED.labels("NEIGHBOUR", "walk_in")._value.get() == before + 2
    with svc.ctx.store.read() as s:
        kinds = [e.type for e in events_of(svc, mine["id"])]
        assert kinds.count("dispute.registered") == 1
        announced = s.scalars(select(Outbox).where(Outbox.kind == "events", Outbox.dispute_id == mine["id"])).all()
        assert len(announced) == 1
        assert [e["type"] for e in announced[0].payload["events"]] == kinds
        assert verify_stream(s, mine["id"]) is None


def test_same_idempotency_key_at_once_makes_one_dispute_with_no_stand_in(svc):
    """Four identical requests with one Idempotency-Key at once: one dispute, every answer the same,
    and its stored answer names the number taken."""
    b = body(county(svc)["v"])
    results, errors = at_once(4, lambda: svc.register_dispute(command(b), CLERK, idempotency_key="k-1",
                                                              body_hash="h")[1])
    assert errors == []
    assert len({r["id"] for r in results}) == 1 and len({r["reference"] for r in results}) == 1
    assert "待编号" not in str(results)
    with svc.ctx.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Dispute)) == 1
        assert s.scalar(select(Counter.value).where(Counter.name == "reference:2026")) == 1


def test_mixed_parallel_registrations_are_numbered_gap_free_in_commit_order(svc):
    """Twelve registrations at once, twins and strangers, plain and 当场化解: numbers 1..12 without a gap,
    given in commit order (the n-th committed dispute's rows were written after the (n-1)-th's), every
    chain intact and no stand-in anywhere."""
    v = county(svc)["v"]
    twin = body(v)
    kinds = [lambda: command(twin), lambda: command(body(v)),
             lambda: command(body(v, disposition={"type": "resolved_on_spot", "terms": "当场归还", "fulfilled": True})),
             lambda: command(body(v, disposition={"type": "not_accepted", "reason_code": "in_litigation"}))]
    counter = iter(range(1000))
    lock = threading.Lock()

    def one() -> dict[str, Any]:
        with lock:
            i = next(counter)
        return svc.register_dispute(kinds[i % 4](), CLERK)[1]

    results, errors = at_once(12, one, timeout=120)
    assert errors == []
    assert sorted(_seq(r["reference"])[1] for r in results) == list(range(1, 13))
    held = [r for r in results if r["state"] == "held_duplicate"]
    assert len(held) == 2  # three twins: the first committed is dispatched, the others held
    with svc.ctx.store.read() as s:
        for r in results:
            assert verify_stream(s, r["id"]) is None
        assert "待编号" not in str([e.data for e in s.scalars(select(Event))])
        if svc.settings.is_sqlite:  # commit order: the writer lock orders the event rows' inserts (rowid)
            order = s.execute(text("SELECT dispute_id FROM events WHERE stream_seq = 1 AND stream <> 'system' "
                                   "ORDER BY rowid")).scalars().all()
            refs = {d.id: d.reference for d in s.scalars(select(Dispute))}
            assert [_seq(refs[i])[1] for i in order] == list(range(1, 13))


@pytest.mark.parametrize("variant", ["needs_supervisor", "petition_referral", "police_violence",
                                     "on_spot_fulfil_later", "grid_on_spot", "hotline_held_duplicate"])
def test_more_kinds_of_registration_leave_no_stand_in(svc, variant):
    """Registrations the shipped probe does not try: routed to supervisors, a petition office's
    referral with its 告知 date (sender clock), police with violence, 当场化解 to be performed later,
    a grid worker's 当场化解, a 12345 order held for 并单. No stand-in in the answer or any row; the
    chain verifies."""
    from router.services.agency import agency_actor
    from router.services.context import Actor

    v = county(svc)["v"]
    key: str | None = None
    actor = CLERK
    if variant == "needs_supervisor":
        cmd = command(body(county(svc)["v_other_county"]))
    elif variant == "petition_referral":
        code = _agency_of(svc, "petition")
        cmd = replace(command(body(v, source="petition", source_ref="X1")), referral={
            "agency": code, "body_type": "petition", "referral_no": "X1", "details": {"notify_by": "2026-12-20"}})
        actor, key = agency_actor(code), "X1"
    elif variant == "police_violence":
        code = _agency_of(svc, "police")
        cmd = replace(command(body(v, source="police", source_ref="Y1", risk_flags=["violence_threat"])), referral={
            "agency": code, "body_type": "police", "referral_no": "Y1", "details": {"violence": True}})
        actor, key = agency_actor(code), "Y1"
    elif variant == "on_spot_fulfil_later":
        cmd = command(body(v, disposition={"type": "resolved_on_spot", "terms": "月底前归还",
                                           "fulfil_by": "2026-11-30"}))
    elif variant == "grid_on_spot":
        actor = Actor("user", "test-grid", "grid")
        cmd = command(body(v, disposition={"type": "resolved_on_spot", "terms": "当场道歉", "fulfilled": True}))
    else:
        code = _agency_of(svc, "hotline_12345")
        b = body(v, source="hotline", source_ref="W1")
        svc.register_dispute(command(b), agency_actor(code), idempotency_key="W1", body_hash="w1")
        cmd, actor, key = command({**b, "source_ref": "W2"}), agency_actor(code), "W2"
    try:
        d = svc.register_dispute(cmd, actor, idempotency_key=key, body_hash="p" if key else None)[1]
    except Exception as e:  # a kind this configuration does not take is no finding
        pytest.skip(f"not registrable here: {e!r}")
    assert "待编号" not in str(d)
    if variant == "hotline_held_duplicate":
        assert d["state"] == "held_duplicate"
    with svc.ctx.store.read() as s:
        assert verify_stream(s, d["id"]) is None
        conn = s.connection()
        for table in ("events", "outbox", "deliveries", "timers", "disputes", "handoffs", "dispute_figures",
                      "handoff_figures", "idempotency_keys"):
            cols = [c[1] for c in conn.execute(text(f'PRAGMA table_info("{table}")'))] if svc.settings.is_sqlite \
                else list(conn.execute(text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                                       {"t": table}).scalars())
            for col in cols:
                n = conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE CAST("{col}" AS TEXT) LIKE :p'),
                                 {"p": "%待编号%"}).scalar()
                assert n == 0, (table, col)
