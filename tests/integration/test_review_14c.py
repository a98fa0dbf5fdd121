"""Review of 761e3e1 (a signed call's retry gets its first answer), 3c23b58 (`backup` / `restore` of the
embedded database) and 831f3c7 (keyed audit checkpoints, the incremental chain check).

Probes that FAILED on 831f3c7 (fixed since; each docstring says what it shows and the root cause) and a few passing
guards worth keeping (marked "Guard"). Run on SQLite and on PostgreSQL (ROUTER_TEST_DATABASE_URL);
the probes that need one of them say so and are skipped on the other."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError

from router.services import audit, build_services
from router.services.context import Actor
from router.settings import load_settings
from router.store.chain import event_hash
from router.store.models import AuditCheckpoint, Dispute, Event, SeenRequest
from tests.builders import CLERK, body, command, county, lead_of, post_dispute, register
from tests.serving import cli, count_rows, prepared, register_into

SUPERVISOR = Actor("user", "review-14c-supervisor", "supervisor")
ON_SQLITE = not os.environ.get("ROUTER_TEST_DATABASE_URL")


# ================================================================ backup / restore (3c23b58)
def _db(env: dict[str, str]) -> Path:
    return Path(env["ROUTER_DATABASE_URL"].removeprefix("sqlite:///"))


def _rewrite_file(db: Path) -> None:
    """What someone with the file can do: edit a verified event (a dispute's last), recompute its hash
    and the dispute's head."""
    c = sqlite3.connect(db)
    c.row_factory = sqlite3.Row
    try:
        stream, head = c.execute("SELECT id, event_count FROM disputes LIMIT 1").fetchone()
        row = dict(c.execute("SELECT * FROM events WHERE stream = ? AND stream_seq = ?", (stream, head)).fetchone())
        e = Event(**{k: row[k] for k in ("id", "stream", "stream_seq", "dispute_id", "handoff_id", "type",
                                         "prev_hash")},
                  actor="user:someone-else", occurred_at=_naive(row["occurred_at"]), data=json.loads(row["data"]))
        new = event_hash(e)
        c.execute("UPDATE events SET actor = ?, hash = ? WHERE id = ?", (e.actor, new, e.id))
        c.execute("UPDATE disputes SET event_head = ? WHERE id = ?", (new, stream))
        c.commit()
    finally:
        c.close()


def _naive(text: str) -> Any:
    from datetime import datetime
    return datetime.fromisoformat(text)


@pytest.mark.skipif(not ON_SQLITE, reason="SQLite only (backup/restore)")
def test_restore_replaces_the_live_database_before_it_checks_the_copy(tmp_path):
    """PROBE: `restore COPY --force` of a copy whose chain is broken prints BROKEN (exit 1), but by
    then the live database is already gone: it holds the broken copy's 2 disputes, not its own 5.

    Root cause: services/backup.restore copies `source` over the target (copy_sqlite renames the .part
    onto it), deletes the WAL, migrates, and only then runs `_check`; a copy that fails the check (or
    whose migration fails: a backup from a newer version, another application's file) has replaced
    the good database already. Fix: copy to the .part, migrate and check THAT, and rename it over the
    database only when it holds (keep the old file as `FILE.before-restore` too)."""
    env, _ = prepared(tmp_path / "live")
    register_into(env, 2)
    copy = tmp_path / "copy.db"
    assert cli(env, "backup", str(copy)).returncode == 0
    with sqlite3.connect(copy) as c:  # damaged in storage: content no longer matches its hash
        c.execute("UPDATE events SET actor = 'user:nobody' WHERE stream_seq = 1 AND stream IN "
                  "(SELECT id FROM disputes LIMIT 1)")
    register_into(env, 3)
    r = cli(env, "restore", str(copy), "--force")
    assert r.returncode == 1 and "BROKEN" in r.stdout, r.stdout + r.stderr
    assert count_rows(_db(env), "disputes") == 5, "the live database was replaced by a copy that failed its check"


@pytest.mark.skipif(not ON_SQLITE, reason="SQLite only (backup/restore)")
def test_restore_of_an_empty_sqlite_file_wipes_the_database_and_says_intact(tmp_path):
    """PROBE: `restore --force` of a file that is not a router backup (here an empty file, e.g. a
    truncated download, or `touch`ed by mistake) replaces the live database, migrates the empty copy
    into a fresh schema and prints `0 events checked; hash chains intact`, exit 0: every dispute is
    gone and the operator is told all is well.

    Root cause: restore checks only `source.is_file()`; copy_sqlite happily "backs up" an empty (or
    any) SQLite file, `upgrade` then creates the schema in it, and an empty store has intact chains.
    Fix: before anything is replaced, open the copy read-only and insist on a router database
    (alembic_version at a known revision, the disputes/events tables), refusing otherwise (exit 2)."""
    env, _ = prepared(tmp_path / "live")
    register_into(env, 3)
    empty = tmp_path / "empty.db"
    empty.touch()
    r = cli(env, "restore", str(empty), "--force")
    assert count_rows(_db(env), "disputes") == 3, (r.returncode, r.stdout, r.stderr)
    assert r.returncode == 2, r.stdout + r.stderr


@pytest.mark.skipif(not ON_SQLITE, reason="SQLite only (backup/restore)")
def test_a_copy_rewritten_with_its_hashes_recomputed_restores_as_intact(tmp_path):
    """PROBE: a backup (checkpoints included) in which a verified event was rewritten and its hash
    and the dispute's head recomputed restores with exit 0 and `hash chains intact`; the very next
    `audit verify --full` on the restored database says `history rewritten since it was last verified`
    (exit 1). The copy's check is the plain chain that §6 says cannot tell such a rewrite.

    Root cause: services/backup._check runs store/chain.verify_all, not services/audit.verify_store
    (full): the keyed checkpoints the copy carries are never consulted, by backup or by restore. Fix:
    check a copy with the full checkpointed walk (the keys are in the settings), read-only (it must
    not move the copy's checkpoints)."""
    env, _ = prepared(tmp_path / "live")
    register_into(env, 3)
    assert cli(env, "audit", "verify").returncode == 0  # every chain checkpointed
    copy = tmp_path / "copy.db"
    assert cli(env, "backup", str(copy)).returncode == 0
    _rewrite_file(copy)
    fresh = {**env, "ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'restored.db'}"}
    r = cli(fresh, "restore", str(copy))
    assert r.returncode == 1 and "BROKEN" in r.stdout and "rewritten" in r.stdout, r.stdout  # restore says so
    assert not (tmp_path / "restored.db").exists() or (tmp_path / "restored.db").stat().st_size == 0  # and keeps out


@pytest.mark.skipif(not ON_SQLITE, reason="SQLite only (backup/restore)")
def test_a_backup_into_a_missing_directory_ends_in_a_traceback_with_the_broken_chain_status(tmp_path):
    """PROBE: `backup /no/such/dir/copy.db` ends in a Python traceback (sqlite3.OperationalError:
    unable to open database file) with exit status 1, which docs/api.md gives as "a chain is broken":
    a cron job (or its operator) is told the data is tampered with when the path is wrong.

    Root cause: store/backup.copy_sqlite connects to `.copy.db.part` in a directory that does not
    exist; nothing checks the target's directory and the CLI's main() catches only the domain errors.
    Fix: refuse a target whose directory does not exist (ValidationError, exit 2), or create it."""
    env, _ = prepared(tmp_path / "live")
    r = cli(env, "backup", str(tmp_path / "no" / "such" / "copy.db"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, (r.returncode, r.stderr[-400:])


@pytest.mark.skipif(not ON_SQLITE, reason="SQLite only (backup/restore)")
def test_a_restore_of_a_file_that_is_not_sqlite_leaves_a_part_file_and_a_traceback(tmp_path):
    """PROBE: `restore garbage.db --force` (not an SQLite file) ends in a traceback, exit 1 ("chain
    broken"), and leaves `.serve.db.part` beside the database. (The database itself survives: the
    error comes before the rename.)

    Root cause: copy_sqlite neither validates the source nor removes its .part on failure (nor on a
    failed integrity_check); the CLI does not turn sqlite3.DatabaseError into a message. Fix: check the
    source first (see the empty-file probe), unlink the .part in a `finally` unless renamed, exit 2."""
    env, _ = prepared(tmp_path / "live")
    register_into(env, 1)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database\n" * 200)
    r = cli(env, "restore", str(garbage), "--force")
    assert count_rows(_db(env), "disputes") == 1
    leftovers = list(_db(env).parent.glob(".*.part"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and not leftovers, (r.returncode, leftovers,
                                                                                r.stderr[-300:])


@pytest.mark.skipif(not ON_SQLITE, reason="SQLite only (backup/restore)")
def test_a_backup_starts_over_whenever_the_service_writes_between_two_steps(tmp_path):
    """PROBE: the online backup copies PAGES_PER_STEP pages a step; SQLite restarts a backup from page
    1 whenever another connection writes to the source between two steps. With a registration between
    each pair of steps, a 3-step copy takes (at least) as many steps as there were writes: under a
    steady write rate faster than one full copy (a few hundred MB, a busy centre) the backup never
    finishes. Measured outside this test: 240 MB at 100 writes/s, no completion until the writer
    stopped (7000 progress calls).

    Root cause: store/backup.copy_sqlite uses `backup(pages=1024)`; step-wise copying only helps with
    a rollback journal, where a reader blocks writers. The database is in WAL mode, where one step of
    all pages (`pages=-1`, the default) reads one snapshot while writers carry on (or `VACUUM INTO`).
    Fix: copy in one step; report progress some other way."""
    env, _ = prepared(tmp_path / "live")
    register_into(env, 1)
    with sqlite3.connect(_db(env)) as c:  # about 12 MB: three steps of 1024 pages
        c.execute("CREATE TABLE ballast (b BLOB)")
        c.executemany("INSERT INTO ballast VALUES (randomblob(4000))", [()] * 3000)
    svc = build_services(load_settings(env))
    village = next(d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village")
    steps, writes = [], [0]

    def progress(done: int, total: int) -> None:
        steps.append((done, total))
        if writes[0] < 15 and done < total:  # the service registers a dispute between two steps
            writes[0] += 1
            svc.register_dispute(command(body(village)), CLERK)

    try:
        svc.backup(tmp_path / "copy.db", progress)
    finally:
        svc.ctx.store.engine.dispose()
    whole = -(-steps[-1][1] // 1024)
    assert len(steps) <= whole + 1, f"{len(steps)} steps for a copy of {whole}: restarted on each write"


# ================================================================ signed calls' retries (761e3e1)
def _send(live: Any, a: Any, path: str, body_: dict[str, Any], msg_id: str) -> tuple[Any, dict[str, str], bytes]:
    from router.adapters import signing

    raw = json.dumps(body_, ensure_ascii=False).encode()
    headers = a.signed_headers(signing.signed_payload("POST", path, raw), msg_id=msg_id)
    return live.http.post(live.base + path, data=raw, headers=headers, timeout=30), headers, raw


def _events_of(svc: Any, handoff_id: str) -> int:
    with svc.ctx.store.read() as s:
        return int(s.scalar(select(func.count()).select_from(Event).where(Event.handoff_id == handoff_id)))


def test_a_failure_to_remember_the_answer_turns_a_recorded_call_into_a_500_then_a_401(live, svc, agencies,
                                                                                        monkeypatch, clock):
    """PROBE: when `settle` fails after the view committed (here: SQLite's "database is locked" after
    its busy timeout, or PostgreSQL gone for a moment), the agency's 签收 is recorded but it gets a
    500; its retry of the very same call (what a 500 asks for) then gets 401, since the row says
    "used, no answer": the sender sees a refusal for a call that worked, and alarms on its signing.

    Root cause: api/agency.require_agency calls services().settle_agency_call outside any try after
    the view; settle is a second transaction after the view's, so its failure is not the call's.
    Fix: catch and log a failed settle and return the view's answer anyway (the row then stays
    "used, no answer": make `replayed` tell a row older than a few seconds without an answer from
    one still being answered), or better, record the answer in the view's own transaction."""
    h = lead_of(post_dispute(live, svc))
    a = agencies(h["agency"])
    path = f"/api/v1/agency/handoffs/{h['id']}/events"

    def locked(*_a: Any, **_k: Any) -> None:
        raise OperationalError("UPDATE seen_requests ...", {}, Exception("database is locked"))

    monkeypatch.setattr(svc, "settle_agency_call", locked)
    before = _events_of(svc, h["id"])
    first, headers, raw = _send(live, a, path, {"handoff_id": h["id"], "event_id": str(uuid.uuid4()),
                                                "type": "acknowledged"}, f"msg_{uuid.uuid4().hex}")
    assert _events_of(svc, h["id"]) > before  # the 签收 is recorded ...
    monkeypatch.undo()
    soon = live.http.post(live.base + path, data=raw, headers=headers, timeout=30)
    assert soon.status_code == 409 and soon.headers["Retry-After"], soon.text  # not a 401: retry shortly
    clock.advance(seconds=31)  # the answer was never kept: the next retry takes the call over
    again = live.http.post(live.base + path, data=raw, headers=headers, timeout=30)
    assert (first.status_code, again.status_code) == (200, 200), (first.status_code, again.status_code, again.text)
    assert again.json()["event_id"] == first.json()["event_id"]  # the event's own idempotency answers it


def test_a_retry_while_the_first_call_is_still_being_answered_gets_a_401(live, svc, agencies, monkeypatch):
    """PROBE: a sender whose first attempt timed out on its side retries with the same webhook-id and
    payload while the router is still working on the first: the retry gets 401 "unauthorised", the
    answer for a bad signature. Standard Webhooks senders retry on any non-2xx, but a 401 reads as
    "the key is wrong" (many disable the endpoint after repeated 401s), and the commit's promise,
    "a sender's retry gets the first answer", does not hold for the most common retry there is.

    Root cause: signed_calls.replayed returns "replayed" (401) for a row without a status, which is
    both "a GET" and "still being answered". Fix: tell them apart (mark a GET's row as such when it
    is inserted) and answer an in-flight duplicate 409 (or 503) with Retry-After, or wait briefly for
    the first answer."""
    h = lead_of(post_dispute(live, svc))
    a = agencies(h["agency"])
    path = f"/api/v1/agency/handoffs/{h['id']}/events"
    entered, release = threading.Event(), threading.Event()
    real = svc.agency_event

    def slow(*args: Any, **kw: Any) -> Any:
        entered.set()
        release.wait(20)
        return real(*args, **kw)

    monkeypatch.setattr(svc, "agency_event", slow)
    from router.adapters import signing
    raw = json.dumps({"handoff_id": h["id"], "event_id": str(uuid.uuid4()), "type": "acknowledged"}).encode()
    headers = a.signed_headers(signing.signed_payload("POST", path, raw), msg_id=f"msg_{uuid.uuid4().hex}")
    answers: list[Any] = []
    first = threading.Thread(target=lambda: answers.append(live.http.post(live.base + path, data=raw,
                                                                          headers=headers, timeout=30)))
    first.start()
    try:
        assert entered.wait(10)
        import requests
        retry = requests.post(live.base + path, data=raw, headers=headers, timeout=30)
    finally:
        release.set()
        first.join(30)
    assert answers and answers[0].status_code == 200, answers
    assert retry.status_code != 401, (retry.status_code, retry.text)


def test_guard_a_retry_of_a_hotline_work_order_gets_its_201_once_and_one_dispute(live, svc, agencies):
    """Guard: the 12345 hotline's retry of a 201 gets the same 201 and body; one dispute is made."""
    from router.store.models import Agency

    with svc.ctx.store.read() as s:
        code = s.scalar(select(Agency.code).where(Agency.body_type == "hotline_12345", Agency.active.is_(True)))
    if code is None:
        pytest.skip("no hotline agency in the test registry")
    a = agencies(code)
    order = {**body(county(svc)["v"]), "work_order_no": f"GD-{uuid.uuid4().hex[:10]}"}
    order.pop("source"), order.pop("source_ref")
    first, headers, raw = _send(live, a, "/api/v1/intake/hotline", order, f"msg_{uuid.uuid4().hex}")
    if first.status_code != 201:
        pytest.skip(f"the hotline intake body is not this one: {first.status_code} {first.text[:200]}")
    again = live.http.post(live.base + "/api/v1/intake/hotline", data=raw, headers=headers, timeout=30)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    with svc.ctx.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Dispute).where(
            Dispute.source_ref == order["work_order_no"])) == 1


def test_guard_used_webhook_ids_are_still_purged_with_their_answers(svc, clock):
    """Guard: housekeeping forgets seen_requests past twice the window, answers and all."""
    from router.services.agency_keys import TOLERANCE_SECONDS
    from router.store.models import Agency

    with svc.ctx.store.read() as s:
        code = s.scalar(select(Agency.code).limit(1))
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.add(SeenRequest(agency_code=code, webhook_id="msg_old", seen_at=clock(), payload_hash="0" * 64,
                                    status=200, answer={"ok": True}))
    clock.advance(seconds=2 * TOLERANCE_SECONDS + 1)
    assert svc.housekeeping() >= 1
    with svc.ctx.store.read() as s:
        assert s.get(SeenRequest, (code, "msg_old")) is None


# ================================================================ audit checkpoints (831f3c7)
def _edit_in_place(svc: Any, stream: str, seq: int | None = None) -> None:
    """A plain UPDATE of one event (no hash recomputed; the stream's last when `seq` is None): what the
    pre-checkpoint endpoint always caught."""
    with svc.ctx.store.unit_of_work() as uow:
        seq = seq or uow.session.get(Dispute, stream).event_count
        uow.session.execute(update(Event).where(Event.stream == stream, Event.stream_seq == seq)
                            .values(actor="user:someone-else"))


def test_one_broken_chain_blinds_the_incremental_check_to_every_chain_after_it(svc):
    """PROBE: once one chain is broken, every incremental check (the endpoint, housekeeping each
    minute) stops at it again: the chains sorted after it are never checked or checkpointed, so a
    second break there (here a plain edit of B's new event) is never reported while A stays broken,
    and the log says the same thing about A every minute.

    Root cause: services/audit.verify_store returns at the first broken link, and a broken chain's
    checkpoint never moves, so it is first again at every check. Fix: carry on past a broken chain
    (report every break, or the first plus a count), still checkpointing the chains that hold; keep
    known breaks in a table an operator can see (and acknowledge) rather than rediscovering them."""
    a, b = sorted((register(svc), register(svc)), key=lambda d: d["id"])
    assert svc.verify_chain()["ok"]
    svc.act(a["id"], {"action": "urge", "reason": "催办"}, SUPERVISOR)
    _edit_in_place(svc, a["id"])  # A's new event, damaged
    first = svc.verify_chain()
    assert first["first_broken"]["stream"] == a["id"]
    svc.act(b["id"], {"action": "urge", "reason": "催办"}, SUPERVISOR)
    _edit_in_place(svc, b["id"])  # B's new event, damaged too
    r = svc.verify_chain()
    reported = json.dumps(r)
    assert b["id"] in reported, r


def test_a_changed_router_secret_key_shows_as_tampering_with_no_way_back(svc, settings):
    """PROBE: README gives ROUTER_SECRET_KEY as what "signs web sessions"; an operator who rotates it
    (a leaked session key, a new host whose var/ was not copied and so generated a new one) makes
    every checkpoint fail its MAC. Nothing says so: each chain, as it moves, is reported one at a
    time as "checkpoint altered (its MAC does not match)", i.e. as a forgery, housekeeping logs it
    every minute, and nothing (no CLI, no documented step) re-keys or resets the checkpoints.

    Root cause: services/audit._key derives the MAC key from the secret with nothing recording which
    key made a checkpoint. Fix: store a key id (a short HMAC of a fixed label) with each checkpoint,
    report "made with another ROUTER_SECRET_KEY" for those, and give `audit verify --full --rekey`
    (re-walk from genesis and re-sign, logged as a system event); document that the key now
    matters beyond sessions."""
    from dataclasses import replace

    d = register(svc)
    assert svc.verify_chain()["ok"]
    other = build_services(replace(settings, secret_key="a-new-session-secret"), engine=svc.ctx.store.engine,
                           clock=svc.ctx.now)
    svc.act(d["id"], {"action": "urge", "reason": "催办"}, SUPERVISOR)
    r = other.verify_chain()
    assert not r["ok"]
    assert "ROUTER_SECRET_KEY" in r["first_broken"]["problem"], r["first_broken"]


def test_nothing_in_the_service_ever_rehashes_a_verified_event(svc, clock, caplog):
    """PROBE: a plain `UPDATE events SET actor = ...` on an event already verified (no hash
    recomputed: the crudest tampering, which /audit/verify caught at once before 831f3c7) is never
    reported by the running service: not by the endpoint, not by housekeeping over a whole day. Only
    an operator's own `audit verify --full` sees it. services/audit.py's docstring says the full check
    runs in "the nightly housekeeping"; nothing runs it.

    Root cause: housekeeping calls verify_store(full=False) only, and the incremental check reads a
    chain after its checkpoint only (and compares the checkpointed event's stored hash, not its
    content). Fix: run the full check from the scheduler once a day (off-peak, as the docstring
    says), or rehash a slice of the verified history on each housekeeping round."""
    d = register(svc)
    svc.act(d["id"], {"action": "urge", "reason": "催办"}, SUPERVISOR)
    assert svc.verify_chain()["ok"]
    _edit_in_place(svc, d["id"], 1)
    caplog.set_level(logging.ERROR, logger="router.services")
    for _ in range(25):  # a day of the scheduler's rounds, an hour apart (housekeeping, and its auditor)
        clock.advance(hours=1)
        svc.housekeeping()
        svc.daily_audit()
    seen = [r for r in caplog.records if r.getMessage() == "audit chain broken"]
    assert seen or not svc.verify_chain()["ok"], "the edit was never reported"


@pytest.mark.skipif(ON_SQLITE, reason="PostgreSQL: SQLite's writers queue on one lock")
def test_two_checks_at_once_both_writing_a_new_checkpoint_end_in_an_integrity_error(svc):
    """PROBE (PostgreSQL): the endpoint and housekeeping (or two `serve` processes' housekeeping)
    checking the same new chain at once both find no checkpoint and both insert one: the second
    commit fails on the primary key, and its verify_store raises IntegrityError (a 500 on
    /audit/verify; housekeeping's round aborts).

    Root cause: services/audit._keep reads the checkpoint and adds one when none is found, without
    a lock or an upsert; its `point.seq < seq` guard covers only a row that existed when it read.
    Fix: INSERT ... ON CONFLICT (stream) DO UPDATE ... WHERE audit_checkpoints.seq < excluded.seq
    (both dialects have it), or catch IntegrityError and re-read."""
    register(svc)
    barrier = threading.Barrier(2, timeout=10)
    engine = svc.ctx.store.engine

    def meet(conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        if "FROM audit_checkpoints" in statement and "audit_checkpoints.stream = " in statement \
                and not conn.get_execution_options().get("router_readonly"):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

    event.listen(engine, "after_cursor_execute", meet)
    errors: list[BaseException] = []

    def check() -> None:
        try:
            audit.verify_store(svc.ctx)
        except BaseException as e:  # noqa: BLE001 - asserted on below
            errors.append(e)

    try:
        threads = [threading.Thread(target=check) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        event.remove(engine, "after_cursor_execute", meet)
    assert not errors, [repr(e)[:200] for e in errors]


def test_guard_archiving_and_merging_do_not_look_like_rewrites(svc):
    """Guard: checked chains stay intact (incremental and full) through a merge (并单), a split (拆单)
    and archiving, whose later records go to the system chain."""
    b = body(county(svc)["v"])
    first = register_body(svc, b)
    second = register_body(svc, {**b, "summary": "又来登记"})
    assert svc.verify_chain()["ok"]
    svc.decide_duplicate(second["id"], "merge", "同一纠纷", CLERK)
    assert svc.verify_chain()["ok"]
    svc.decide_duplicate(second["id"], "split", "核实为另一纠纷", SUPERVISOR)
    assert svc.verify_chain()["ok"]
    svc.act(first["id"], {"action": "close", "reason": "中心办结"}, SUPERVISOR)
    svc.act(first["id"], {"action": "archive", "reason": "结案归档"}, SUPERVISOR)
    svc.refresh_warnings()
    r, full = svc.verify_chain(), svc.verify_chain(full=True)
    assert r["ok"] and full["ok"], (r, full)
    with svc.ctx.store.read() as s:
        for d in (first, second):
            assert s.get(AuditCheckpoint, d["id"]).seq == s.get(Dispute, d["id"]).event_count


def register_body(svc: Any, b: dict[str, Any]) -> dict[str, Any]:
    return svc.register_dispute(command(b), CLERK)[1]


@pytest.mark.skipif(ON_SQLITE, reason="PostgreSQL: an SQLite read transaction is one snapshot")
def test_a_dispute_moving_during_the_check_is_logged_as_a_broken_chain(svc, caplog):
    """PROBE (PostgreSQL): a supervisor's 催办 committed while housekeeping reads that dispute's new
    events makes the check read the events before it and the dispute row after it: "chain head does
    not match the dispute (events removed from the end)", logged as an ERROR by housekeeping. On a
    busy centre that is a false tamper alarm every few minutes, now that the check runs each minute.

    Root cause: services/audit._check reads events, then the dispute, in one `store.read()` session,
    which on PostgreSQL is READ COMMITTED: each statement sees the latest commit. (docs/audit-chain.md
    §5 admits it for the old endpoint; housekeeping now logs it as a break.) Fix: run the check's
    reads at REPEATABLE READ (one snapshot), or read the dispute's head first and stop the walk at it."""
    d = register(svc)
    assert svc.verify_chain()["ok"]
    svc.act(d["id"], {"action": "urge", "reason": "催办"}, SUPERVISOR)
    engine, done = svc.ctx.store.engine, []

    def meanwhile(conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        if not done and conn.get_execution_options().get("router_readonly") and "FROM events" in statement \
                and "events.stream_seq >" in statement:
            done.append(1)
            t = threading.Thread(target=svc.act, args=(d["id"], {"action": "urge", "reason": "再催"}, SUPERVISOR))
            t.start()
            t.join(30)

    event.listen(engine, "after_cursor_execute", meanwhile)
    caplog.set_level(logging.ERROR, logger="router.services")
    try:
        svc.housekeeping()
    finally:
        event.remove(engine, "after_cursor_execute", meanwhile)
    assert done
    assert not [r for r in caplog.records if r.getMessage() == "audit chain broken"], \
        [getattr(r, "first_broken", None) for r in caplog.records]
