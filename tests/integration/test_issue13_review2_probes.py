"""Probes of the second issue-13 review: the Core insert of a new dispute (UnitOfWork.insert_new_dispute)
and the answer built after commit, one outbox row for a transaction's audit events, the SQLite writer
lock across threads and processes, the relay's look before it locks, and `serve --processes N`.

Each test states one invariant the change must keep; where it fails, the change broke it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from router.messaging.relay import publisher
from router.messaging.topology import Topology
from router.services.agency import agency_actor
from router.store.models import Delivery, Dispute, Event, Handoff, Outbox, Party
from router.store.uow import ANNOUNCE, DISPUTES, OUTBOX, UnitOfWork, jsonable
from router.store.writelock import WriterLock
from tests.builders import CLERK, PII_KEY, ROOT, at_once, body, command, config_dir, county, lead_of, report

SYS = "system"


class _Boom(Exception):
    pass


# ---------------------------------------------------------------- the Core insert of a new dispute
def _agency_of(svc, body_type: str) -> str:
    centre = svc.ctx.config.divisions.centre.code[:6]
    codes = sorted(c for c, a in svc.ctx.registry().by_code.items() if str(a.body_type) == body_type and a.active)
    return next((c for c in codes if centre in c), codes[0])


def _intake(svc, variant: str) -> tuple[Any, Any, str | None, str]:
    """(command, actor, idempotency key, the sender's own number) for one kind of registration."""
    v = county(svc)["v"]
    no = f"P{uuid.uuid4().hex[:10]}"
    if variant == "plain":
        return command(body(v)), CLERK, None, no
    if variant == "with_assist":  # two handoffs (labour mediation leads, the police assist)
        return command(body(v, "LABOUR", risk_flags=["violence_threat"])), CLERK, None, no
    if variant == "held_duplicate":  # 并单: the same applicant again
        b = body(v)
        svc.register_dispute(command(b), CLERK)
        return command({**b, "summary": "又来登记"}), CLERK, None, no
    if variant == "not_accepted":
        return command(body(v, disposition={"type": "not_accepted", "reason_code": "in_litigation"})), CLERK, None, no
    if variant == "resolved_on_spot":
        return command(body(v, disposition={"type": "resolved_on_spot", "terms": "当场归还", "fulfilled": True})), \
            CLERK, None, no
    if variant == "urgent":
        return command(body(v, urgency="life_safety", source="hotline")), CLERK, None, no
    if variant == "idempotency_key":
        return command(body(v)), CLERK, no, no
    if variant == "hotline_work_order":  # POST /api/v1/intake/hotline, as the API builds it
        code = _agency_of(svc, "hotline_12345")
        return command(body(v, source="hotline", source_ref=no, urgency="utilities")), agency_actor(code), no, no
    if variant == "court_referral":  # POST /api/v1/intake/referral with the sender's clock
        code = _agency_of(svc, "court")
        cmd = replace(command(body(v, "CONTRACT", source="court", source_ref=no)), referral={
            "agency": code, "body_type": "court", "referral_no": no, "details": {"case_no": no, "mediation_days": 15}})
        return cmd, agency_actor(code), no, no
    raise AssertionError(variant)


IDENTITY = {"id", "dispute_id", "reference", "duplicate_of", "event_head", "id_number_enc", "id_number_hash",
            "id_number_masked", "phone_enc", "phone_hash", "phone_masked"}
JSON_NULLS = ("referral", "routing", "outcome", "closure", "risk_flags", "features")


def _stored(svc, dispute_id: str, number: str) -> dict[str, Any]:
    """The dispute's rows as the database holds them, identities left out, the sender's number replaced,
    and which JSON columns are SQL NULL (JSON null reads back as None too)."""
    with svc.ctx.store.read() as s:
        def rows(table: Any, *order: Any) -> list[dict[str, Any]]:
            where = table.c.id == dispute_id if table is DISPUTES else table.c.dispute_id == dispute_id
            return [{k: json.loads(json.dumps(jsonable(x)).replace(number, "N")) for k, x in r._asdict().items()
                     if k not in IDENTITY} for r in s.execute(select(*table.c).where(where).order_by(*order))]

        nulls = s.execute(text(f"SELECT {', '.join(f'{c} IS NULL' for c in JSON_NULLS)} FROM disputes "
                               "WHERE id = :i"), {"i": dispute_id}).one()
        dup = s.scalar(select(Dispute.duplicate_of).where(Dispute.id == dispute_id))
        return {"dispute": rows(DISPUTES), "parties": rows(Party.__table__, Party.idx),
                "handoffs": rows(Handoff.__table__, Handoff.role, Handoff.body_type),
                "sql_nulls": [bool(x) for x in nulls], "has_duplicate_of": dup is not None,
                "handoff_sql_nulls": [tuple(bool(x) for x in r) for r in s.execute(text(
                    "SELECT outcome IS NULL, deadline_rules IS NULL FROM handoffs WHERE dispute_id = :i "
                    "ORDER BY role, body_type"), {"i": dispute_id})]}


def _register(svc, cmd: Any, actor: Any, key: str | None) -> dict[str, Any]:
    return svc.register_dispute(cmd, actor, idempotency_key=key, body_hash="probe" if key else None)[1]


def _orm_path(self: UnitOfWork, d: Dispute) -> bool:
    self.session.flush()  # what register_dispute did before the change
    return False


VARIANTS = ["plain", "with_assist", "held_duplicate", "not_accepted", "resolved_on_spot", "urgent", "idempotency_key",
            "hotline_work_order", "court_referral"]


def _spy(monkeypatch: Any) -> list[bool]:
    """Which path each registration took: True for the Core insert."""
    real, took = UnitOfWork.insert_new_dispute, []

    def spy(self: UnitOfWork, d: Dispute) -> bool:
        took.append(real(self, d))
        return took[-1]

    monkeypatch.setattr(UnitOfWork, "insert_new_dispute", spy)
    return took


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_core_insert_writes_what_the_orm_flush_wrote_and_answers_as_a_fresh_read(svc, monkeypatch, variant):
    cmd, actor, key, no = _intake(svc, variant)
    took = _spy(monkeypatch)
    new = _register(svc, cmd, actor, key)
    if variant != "resolved_on_spot":  # (its disposition reads the tables first: the ORM flushes it)
        assert took == [True], "the Core path was not taken: this probe would compare the ORM with itself"
    assert new == svc.get_dispute(new["id"]), "the answer built after commit differs from the stored dispute"
    core = _stored(svc, new["id"], no)

    monkeypatch.setattr(UnitOfWork, "insert_new_dispute", _orm_path)
    cmd, actor, key, no = _intake(svc, variant)
    old = _register(svc, cmd, actor, key)
    assert old == svc.get_dispute(old["id"])
    orm = _stored(svc, old["id"], no)
    assert core == orm
    assert core["has_duplicate_of"] is (variant == "held_duplicate")


def test_a_dispute_inserted_by_core_takes_later_operations_and_keeps_its_version_check(svc, clock):
    d = _register(svc, *_intake(svc, "plain")[:3])
    eng = svc.ctx.store.engine

    def version() -> int:
        with eng.connect() as c:
            return c.execute(select(DISPUTES.c.version).where(DISPUTES.c.id == d["id"])).scalar_one()

    assert version() == 1
    lead = lead_of(d)
    clock.advance(hours=1)
    report(svc, lead, "acknowledged")
    clock.advance(hours=1)
    report(svc, lead, "returned", reason="不属于本单位受理范围", basis="人民调解法第17条")
    after = svc.get_dispute(d["id"])
    assert [h["state"] for h in after["handoffs"] if h["id"] == lead["id"]] == ["returned"]
    assert version() > 1
    with Session(eng, expire_on_commit=False) as s:  # a stale copy is refused, as for any ORM-made row
        stale = s.get(Dispute, d["id"])
        s.commit()
        with eng.begin() as c:
            c.execute(update(DISPUTES).where(DISPUTES.c.id == d["id"]).values(version=DISPUTES.c.version + 1))
        stale.summary = "stale"
        with pytest.raises(StaleDataError):
            s.commit()


def test_concurrent_registrations_with_one_idempotency_key_make_one_dispute_with_one_answer(svc):
    b = body(county(svc)["v"], summary=f"并发{uuid.uuid4().hex[:8]}")
    key = uuid.uuid4().hex
    answers, errors = at_once(4, lambda: svc.register_dispute(command(b), CLERK, idempotency_key=key,
                                                              body_hash="same"))
    assert not errors and len(answers) == 4
    assert len({json.dumps(a[1], sort_keys=True) for a in answers}) == 1
    with svc.ctx.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Dispute).where(Dispute.summary == b["summary"])) == 1


# ---------------------------------------------------------------- one outbox row of audit events
class _Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def publish(self, body: dict[str, Any], *, exchange: Any, routing_key: str, **_: Any) -> None:
        self.sent.append((exchange.name, routing_key, json.loads(json.dumps(body))))


def _old_body(e: Event) -> dict[str, Any]:
    """What one outbox row per event used to put on router.events."""
    return {"kind": "event", "event_id": e.id, "type": e.type, "dispute_id": e.dispute_id, "handoff_id": e.handoff_id,
            "actor": e.actor, "occurred_at": jsonable(e.occurred_at), "data": e.data, "hash": e.hash}


def test_the_relay_puts_each_event_on_router_events_in_the_old_shape_and_a_legacy_row_too(svc, clock):
    svc.relay_outbox(lambda m: None)  # what other tests left
    d = _register(svc, *_intake(svc, "with_assist")[:3])
    legacy = {"event_id": "legacy-1", "type": "probe.legacy", "dispute_id": d["id"], "handoff_id": None,
              "actor": SYS, "occurred_at": clock.now.isoformat(), "data": {}, "hash": "0" * 64}
    with svc.ctx.store.engine.begin() as c:  # a row of the old kind, unpublished when the new code starts
        c.execute(insert(OUTBOX).values(id=str(uuid.uuid4()), kind="event", routing_key="probe.legacy",
                                        payload=legacy, dispute_id=d["id"], created_at=clock.now, attempts=0))
    producer = _Producer()
    topo = Topology.for_settings(svc.settings)
    svc.relay_outbox(publisher(producer, topo))
    with svc.ctx.store.read() as s:
        events = s.scalars(select(Event).where(Event.dispute_id == d["id"]).order_by(Event.stream_seq)).all()
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.published_at.is_(None))) == 0
        kinds = s.scalars(select(Outbox.kind).where(Outbox.dispute_id == d["id"]).order_by(Outbox.seq)).all()
    on_events = [(k, b) for ex, k, b in producer.sent if ex == topo.events.name]
    assert on_events == [(e.type, _old_body(e)) for e in events] + [("probe.legacy", {"kind": "event", **legacy})]
    assert kinds.count(ANNOUNCE) == 1
    assert len([1 for ex, _, _ in producer.sent if ex == topo.handoffs.name]) == 2  # the two offers
    assert svc.relay_outbox(publisher(producer, topo)) == 0


def test_a_savepoint_rolled_back_announces_nothing_of_its_own_and_everything_around_it(svc, clock):
    d = _register(svc, *_intake(svc, "plain")[:3])
    with svc.ctx.store.unit_of_work() as uow:
        dispute = uow.session.get(Dispute, d["id"], with_for_update=True)
        before = uow.append_event(type="probe.before", actor=SYS, at=clock.now, data={}, dispute=dispute)
        try:
            with uow.session.begin_nested():
                uow.append_event(type="probe.inside", actor=SYS, at=clock.now, data={}, dispute=dispute)
                raise _Boom
        except _Boom:
            pass
        after = uow.append_event(type="probe.after", actor=SYS, at=clock.now, data={}, dispute=dispute)
    with svc.ctx.store.read() as s:
        announced = [e["event_id"] for p in s.scalars(select(Outbox.payload).where(
            Outbox.kind == ANNOUNCE, Outbox.dispute_id == d["id"]).order_by(Outbox.seq)) for e in p["events"]]
        types = s.scalars(select(Event.type).where(Event.dispute_id == d["id"]).order_by(Event.stream_seq)).all()
    assert announced[-2:] == [before.id, after.id] and len(announced) == len(set(announced)) == len(types)
    assert "probe.inside" not in types
    assert svc.verify_chain()["ok"] is True


# ---------------------------------------------------------------- the SQLite writer lock
def test_the_writer_lock_holds_another_process_back_and_a_forked_child_opens_its_own(tmp_path):
    if not hasattr(os, "fork"):
        pytest.skip("fork")
    lock = WriterLock(str(tmp_path / "x.db"))
    with lock.held():  # the parent's handle is open before the fork, as in a preloaded server
        pass
    ready_r, ready_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: waits for the parent to hold the lock, then takes it
        try:
            os.read(ready_r, 1)
            t0 = time.monotonic()
            with lock.held():
                os.write(out_w, f"{time.monotonic() - t0:.3f}".encode())
        finally:
            os._exit(0)
    os.close(ready_r)
    os.close(out_w)  # so that a child that died without answering reads as an empty answer, not a hang
    with lock.held():
        os.write(ready_w, b"x")
        time.sleep(0.6)
    os.waitpid(pid, 0)
    answer = os.read(out_r, 64)
    os.close(ready_w)
    os.close(out_r)
    assert answer, "the child never got the lock"
    assert float(answer) >= 0.4, "the child took the lock while the parent held it (the parent's file was shared)"
    assert WriterLock(":memory:")._path is None and WriterLock(None)._path is None


def test_readers_and_token_checks_do_not_wait_for_an_open_writer(svc, tokens):
    d = _register(svc, *_intake(svc, "plain")[:3])
    holding, release, done = threading.Event(), threading.Event(), threading.Event()

    def writer() -> None:
        with svc.ctx.store.unit_of_work() as uow:
            uow.session.get(Dispute, d["id"], with_for_update=True)
            holding.set()
            release.wait(20)
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert holding.wait(10)
        t0 = time.monotonic()
        assert svc.get_dispute(d["id"])["id"] == d["id"]
        assert svc.authenticate(tokens["clerk"]) is not None
        assert time.monotonic() - t0 < 5, "a reader waited for the writer"
    finally:
        release.set()
        t.join(30)


def test_the_relay_takes_no_write_lock_when_everything_is_published(svc):
    if not svc.settings.is_sqlite:
        pytest.skip("the writer lock is SQLite's")
    _register(svc, *_intake(svc, "plain")[:3])
    svc.relay_outbox(lambda m: None)
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with svc.ctx.store.unit_of_work():
            holding.set()
            release.wait(20)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert holding.wait(10)
        t0 = time.monotonic()
        assert svc.relay_outbox(lambda m: None) == 0
        assert time.monotonic() - t0 < 2, "the idle relay queued for the write lock"
    finally:
        release.set()
        t.join(30)


# ---------------------------------------------------------------- serve --processes N
def test_serve_processes_fails_when_its_web_processes_cannot_start(tmp_path):
    """gunicorn cannot bind (the port is taken): the command must not exit 0 as if it had served and
    stopped (a supervisor such as systemd's Restart=on-failure would not restart it)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("gunicorn")
    env = {**os.environ, "ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
           "ROUTER_VAR_DIR": str(tmp_path / "var"), "ROUTER_PII_KEY": PII_KEY, "ROUTER_SECRET_KEY": "s",
           "ROUTER_CONFIG_DIR": config_dir()}
    run = [sys.executable, "-m", "router.cli"]
    assert subprocess.run([*run, "init-db"], env=env, cwd=ROOT, capture_output=True, timeout=120).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([*run, "serve", "--port", str(port), "--processes", "2", "--threads", "1"], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "Connection in use" in r.stderr or "Address already in use" in r.stderr
    assert r.returncode != 0, "serve --processes exited 0 although gunicorn never served"


# ---------------------------------------------------------------- a paper or pull agency leads at intake
@pytest.fixture
def preferred(svc, offline):
    """An agency of the given mode preferred for the body type a plain registration goes to."""

    def make(mode: str) -> str:
        probe = _register(svc, *_intake(svc, "plain")[:3])
        tier = str(svc.ctx.registry().by_code[lead_of(probe)["agency"]].tier)
        return offline(mode, probe, tier=tier, priority=1000)

    return make


@pytest.mark.parametrize("mode", ["paper", "pull"])
def test_a_registration_led_by_an_agency_without_a_system_holds_its_offer_on_both_paths(svc, monkeypatch, preferred,
                                                                                       mode):
    code = preferred(mode)
    states, took = [], _spy(monkeypatch)
    for path in ("core", "orm"):
        if path == "orm":
            assert took == [True]
            monkeypatch.setattr(UnitOfWork, "insert_new_dispute", _orm_path)
        d = _register(svc, *_intake(svc, "plain")[:3])
        lead = lead_of(d)
        assert lead["agency"] == code and d == svc.get_dispute(d["id"])
        with svc.ctx.store.read() as s:
            states.append(s.scalars(select(Delivery.state).where(Delivery.handoff_id == lead["id"])).all())
    assert states == [["held"], ["held"]]
