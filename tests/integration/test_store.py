"""The store on a real database (SQLite, or PostgreSQL with ROUTER_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, inspect, select, text, update

from router.services import SYSTEM, build_services
from router.settings import load_settings
from router.store.db import make_engine
from router.store.migrate import NotMigrated, upgrade
from router.store.models import Delivery, Dispute, Event, Outbox, Party, Timer
from tests.builders import ROOT, VALID_ID, body, register


def test_one_transaction_writes_state_events_outbox_and_timers(svc):
    d = register(svc, category="LABOUR")
    with svc.ctx.store.read() as s:
        types = [e.type for e in s.scalars(select(Event).where(Event.dispute_id == d["id"]).order_by(Event.stream_seq))]
        assert types == ["dispute.registered", "dispute.route", "handoff.offer", "dispute.hand_off"]
        rows = s.scalars(select(Outbox).where(Outbox.dispute_id == d["id"]).order_by(Outbox.seq)).all()
        # every event, for router.events: all of the transaction's in one row
        (announced,) = [o for o in rows if o.kind == "events"]
        assert [e["type"] for e in announced.payload["events"]] == types
        out = [o for o in rows if o.kind != "events"]
        assert [(o.kind, o.routing_key) for o in out] == [("handoff.offered", "labour_mediation")]
        lead = d["handoffs"][0]
        assert out[0].payload == {"handoff_id": lead["id"], "agency": lead["agency"]}
        assert out[0].published_at is None
        delivery = s.scalar(select(Delivery).where(Delivery.outbox_id == out[0].id))
        assert (delivery.state, delivery.agency_code, delivery.handoff_id) == ("pending", lead["agency"], lead["id"])
        timers = {t.kind: t for t in s.scalars(select(Timer).where(Timer.dispute_id == d["id"]))}
        assert set(timers) == {"ack_warn", "ack_due", "return_due"}  # the ladder: warning, then silence = refusal
        assert timers["ack_warn"].due_at < timers["ack_due"].due_at
        assert "labour_mediation.acknowledge=3w" in timers["ack_due"].rule


def test_a_failure_mid_way_leaves_nothing(svc, monkeypatch):
    import router.services.dispatch as dispatch

    def boom(*a, **k):
        raise RuntimeError("crash after the dispute row was written")

    monkeypatch.setattr(dispatch, "offer", boom)
    with pytest.raises(RuntimeError):
        register(svc)
    with svc.ctx.store.read() as s:
        assert s.scalar(select(Dispute.id)) is None
        assert s.scalar(select(Event.id)) is None


def test_chain_verifies_then_detects_tampering(svc):
    d = register(svc)
    register(svc, category="CONTRACT")
    assert svc.verify_chain()["ok"] is True
    with svc.ctx.store.engine.begin() as conn:
        ev = conn.execute(select(Event.id, Event.data).where(Event.dispute_id == d["id"], Event.stream_seq == 2)
                          ).one()
        data = dict(ev.data)
        data["to"] = "closed"
        conn.execute(update(Event).where(Event.id == ev.id).values(data=data))
    result = svc.verify_chain(full=True)
    assert result["ok"] is False
    assert result["first_broken"]["stream"] == d["id"] and result["first_broken"]["stream_seq"] == 2
    assert "hash" in result["first_broken"]["problem"]


@pytest.mark.parametrize("tamper", ["delete_middle", "delete_last", "rehash_one", "delete_all"])
def test_chain_detects_removal_and_rewrites(svc, tamper):
    from router.store.chain import event_hash

    d = register(svc)
    with svc.ctx.store.engine.begin() as conn:
        if tamper == "delete_middle":
            conn.execute(delete(Event).where(Event.dispute_id == d["id"], Event.stream_seq == 2))
        elif tamper == "delete_last":
            last = conn.execute(select(Event.stream_seq).where(Event.dispute_id == d["id"])
                                .order_by(Event.stream_seq.desc())).first()[0]
            conn.execute(delete(Event).where(Event.dispute_id == d["id"], Event.stream_seq == last))
        elif tamper == "delete_all":
            conn.execute(delete(Event).where(Event.dispute_id == d["id"]))
    if tamper == "rehash_one":  # rewrite an event AND its own hash: the next link breaks
        with svc.ctx.store.unit_of_work() as uow:
            e = uow.session.scalar(select(Event).where(Event.dispute_id == d["id"], Event.stream_seq == 1))
            e.actor = "user:someone-else"
            e.hash = event_hash(e)
    result = svc.verify_chain(full=True)
    assert result["ok"] is False, tamper


def test_audit_verify_endpoint(client, svc, tokens):
    register(svc)
    r = client.get("/api/v1/audit/verify", headers={"Authorization": f"Bearer {tokens['supervisor']}"})
    assert r.status_code == 200 and r.get_json()["ok"] is True and r.get_json()["events_checked"] >= 4


def _all_text(svc) -> str:
    """Everything the database holds, as text: the file on SQLite, every row on PostgreSQL."""
    if svc.settings.is_sqlite:
        path = Path(svc.ctx.store.engine.url.database)
        raw = svc.ctx.store.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(FULL)")
        finally:
            raw.close()
        # Read in another process: closing any descriptor of the file here would drop this process's
        # POSIX locks on the live database, and a later multi-process test could then corrupt it.
        cat = "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())"
        blobs = [subprocess.run([sys.executable, "-c", cat, str(p)], capture_output=True, check=True).stdout
                 for p in (path, Path(f"{path}-wal")) if p.exists()]
        return "\n".join(b.decode("utf-8", "replace") + b.decode("latin-1") for b in blobs)
    with svc.ctx.store.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        chunks = [str(row[0]) for t in tables for row in conn.execute(text(f'SELECT t::text FROM "{t}" t'))]
        conn.exec_driver_sql("CHECKPOINT")
    return "\n".join(chunks)


def test_no_id_number_or_phone_in_plaintext(svc):
    d = register(svc, parties=[{**body("x")["parties"][0], "id_number": VALID_ID, "phone": "13800138000",
                                "division": None}, body("x")["parties"][1] | {"division": None}])
    dump = _all_text(svc)
    assert d["reference"] in dump or svc.settings.is_sqlite  # the dump really holds the data
    for secret in (VALID_ID, "13800138000", VALID_ID[6:14] + VALID_ID[14:]):
        assert secret not in dump
    with svc.ctx.store.read() as s:
        p = s.scalar(select(Party).where(Party.dispute_id == d["id"], Party.role == "applicant"))
        assert svc.ctx.cipher.decrypt(p.id_number_enc, "id_number") == VALID_ID
        assert svc.ctx.cipher.decrypt(p.phone_enc, "phone") == "13800138000"
        assert p.id_number_hash == svc.ctx.cipher.lookup_hash(VALID_ID, "id_number")
        from cryptography.exceptions import InvalidTag

        with pytest.raises(InvalidTag):  # bound to its column: an ID ciphertext is not a phone
            svc.ctx.cipher.decrypt(p.id_number_enc, "phone")


def test_unmigrated_database_is_refused(tmp_path, settings):
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(NotMigrated) as e:
        build_services(settings, engine=empty)
    assert "dispute-router init-db" in str(e.value)
    upgrade(empty)
    build_services(settings, engine=empty)  # now it runs


def test_sqlite_is_durable(svc):
    if not svc.settings.is_sqlite:
        pytest.skip("SQLite settings")
    with svc.ctx.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_bad_config_fails_at_start_naming_file_and_key(tmp_path):
    from router.domain.errors import ConfigError

    root = ROOT / "config"
    for f in root.glob("*.yaml"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    bodies = (tmp_path / "bodies.yaml").read_text().replace("acknowledge: 24h", "acknowledge: soon")
    (tmp_path / "bodies.yaml").write_text(bodies)
    s = load_settings({"ROUTER_CONFIG_DIR": str(tmp_path), "ROUTER_VAR_DIR": str(tmp_path / "var")})
    with pytest.raises(ConfigError) as e:
        s.domain  # noqa: B018
    assert e.value.file == "bodies.yaml" and e.value.key == "body_types.police.acknowledge"
    (tmp_path / "routing.yaml").write_text("version: [unclosed\n")
    s = load_settings({"ROUTER_CONFIG_DIR": str(tmp_path), "ROUTER_VAR_DIR": str(tmp_path / "var")})
    with pytest.raises(ConfigError) as e:
        s.domain  # noqa: B018
    assert e.value.file == "routing.yaml" and "YAML" in e.value.problem


def test_system_events_chain_too(svc):
    svc.add_user("someone", "clerk")
    with svc.ctx.store.read() as s:
        e = s.scalar(select(Event).where(Event.type == "user.added"))
        assert e.stream == "system" and e.actor == SYSTEM.id
        assert json.dumps(e.data) == json.dumps({"name": "someone", "role": "clerk"})
    assert svc.verify_chain()["ok"]
