"""Review probes of 4427326 (the 国密 option, ROUTER_CRYPTO=gm; HMAC-SM3 agencies; the anchor fold).

Each probe that fails names a bug; the passing ones are kept as regression tests of what held."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import pytest
from sqlalchemy import select, update

from router.adapters import signing
from router.services import build_services
from router.settings import load_settings
from router.store.chain import GENESIS, hash_of, hashed_fields
from router.store.models import Agency, Event
from tests.builders import CLERK, PII_KEY, SUPERVISOR, body, command, config_dir, lead_of, wait_for


# ---------------------------------------------------------------- a 国密 store of its own (SQLite)
def _env(tmp_path, crypto: str, name: str = "gm.db") -> dict[str, str]:
    return {"ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / name}", "ROUTER_CONFIG_DIR": config_dir(),
            "ROUTER_VAR_DIR": str(tmp_path / "var"), "ROUTER_PII_KEY": PII_KEY, "ROUTER_SECRET_KEY": "s",
            "ROUTER_CRYPTO": crypto}


def _services(tmp_path, crypto: str = "gm", *, init: bool = False, name: str = "gm.db", **kw: Any) -> Any:
    settings = load_settings(_env(tmp_path, crypto, name))
    if init:
        svc = build_services(settings, check_schema=False, **kw)
        svc.migrate()
        svc.sync_agencies()
        return svc
    return build_services(settings, **kw)


def _village(svc) -> str:
    return next(d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village")


def _sm3_chain_holds(svc, stream: str) -> None:
    with svc.ctx.store.read() as s:
        prev = GENESIS
        for e in s.scalars(select(Event).where(Event.stream == stream).order_by(Event.stream_seq)):
            assert e.prev_hash == prev and e.hash == hash_of(hashed_fields(e), "sm3"), (e.stream_seq, e.type)
            prev = e.hash


# ---------------------------------------------------------------- the demo's history on a gm store
def test_bug_demo_data_on_a_gm_store_is_chained_with_sm3(tmp_path):
    """`dispute-router demo-data` writes its events straight into the database (router/testing/seed.py);
    on a gm store they must be chained with SM3 like every other event, or `audit verify` reports
    every seeded dispute as broken."""
    from router.testing.seed import seed

    svc = _services(tmp_path, init=True)
    assert seed(svc, 3, 30) == 3
    result = svc.verify_chain(full=True)
    assert result["ok"], result["first_broken"]


# ---------------------------------------------------------------- backups of a gm store
def test_held_a_gm_store_backs_up_and_restores_with_its_chains_checked_in_sm3(tmp_path):
    svc = _services(tmp_path, init=True)
    _, d = svc.register_dispute(command(body(_village(svc))), CLERK)
    assert svc.verify_chain(full=True)["ok"]
    copy = tmp_path / "copy.db"
    checked = svc.backup(copy)
    assert checked.broken is None and checked.events >= 2
    fresh = _services(tmp_path, init=False, name="fresh.db", check_schema=False)
    restored = fresh.restore(copy)
    assert restored.broken is None, restored.broken
    again = _services(tmp_path, name="fresh.db")
    assert again.verify_chain(full=True)["ok"]
    _sm3_chain_holds(again, d["id"])


def test_bug_restoring_a_copy_of_the_other_suite_says_so(tmp_path):
    """A standard copy restored by a gm process: the copy's chains are SHA-256 and intact. Refusing it
    is right, but the reason given must be the suite (and its fix), not "BROKEN: content does not match
    its hash", which tells an operator the backup was tampered with."""
    std = _services(tmp_path, "standard", init=True, name="std.db")
    std.register_dispute(command(body(_village(std))), CLERK)
    copy = tmp_path / "std-copy.db"
    assert std.backup(copy).broken is None
    gm = _services(tmp_path, "gm", name="target.db", check_schema=False)
    try:
        checked = gm.restore(copy)
        problem = checked.broken or ""
    except Exception as e:  # noqa: BLE001 - a refusal by exception is as good, if it says why
        problem = str(e)
    assert "ROUTER_CRYPTO" in problem or "suite" in problem, problem


# ---------------------------------------------------------------- the demo's agencies signing HMAC-SM3
def test_bug_the_demo_agencies_acknowledge_for_an_hmac_sm3_agency(live, svc, background, clock, sm3_agencies):
    """`dispute-router stub-agency --acknowledge` (router/testing/demo.py) answers each referral with a
    signed 签收; for an agency set to hmac-sm3 it must sign with HMAC-SM3, or every 签收 is a 401."""
    from datetime import UTC, datetime

    from router.testing.demo import DemoAgencies

    svc.ctx.clock = lambda: datetime.now(UTC)  # the demo's agencies sign with the wall clock, as in the demo
    said: list[str] = []
    demo = DemoAgencies(svc, live.base, acknowledge=True, say=said.append)
    base = demo.start(0)
    svc.point_agencies_at(base + "/agencies/{code}/handoffs")
    try:
        r = live.post("/api/v1/disputes", body(_village(svc)))
        assert r.status_code == 201, r.text
        lead = lead_of(r.json())
        wait_for(lambda: lead["id"] in demo.acknowledged, what="the demo's 签收")
        wait_for(lambda: any("acknowledged" in line for line in said), what="its answer")
        assert any(r.verified for r in demo.stub.received)  # the stub verified our v1sm3 delivery
        line = next(x for x in said if "acknowledged" in x)
        assert line.endswith("HTTP 200"), line
    finally:
        demo.stop()


# ---------------------------------------------------------------- no downgrade through mixed headers
def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def test_held_mixed_signature_headers_do_not_downgrade_either_way():
    secret = signing.new_secret()
    good_v1 = signing.sign(secret, "m", 1000, b"{}")
    good_sm3 = signing.sign(secret, "m", 1000, b"{}", signing.HMAC_SM3)
    bogus = _b64(b"x" * 32)
    # an hmac-sm3 agency: a valid v1 beside a bogus v1sm3 is refused, and the other way round
    assert not signing.verify([secret], "m", "1000", b"{}", f"{good_v1} v1sm3,{bogus}", now=1000,
                              algorithm=signing.HMAC_SM3)
    assert not signing.verify([secret], "m", "1000", b"{}", f"v1sm3,{good_v1.split(',', 1)[1]}", now=1000,
                              algorithm=signing.HMAC_SM3)
    assert not signing.verify([secret], "m", "1000", b"{}", f"{good_sm3} v1,{bogus}", now=1000)
    assert not signing.verify([secret], "m", "1000", b"{}", f"v1,{good_sm3.split(',', 1)[1]}", now=1000)
    assert signing.verify([secret], "m", "1000", b"{}", f"v1,{bogus} {good_sm3}", now=1000,
                          algorithm=signing.HMAC_SM3)


# ---------------------------------------------------------------- every outbound notice signed v1sm3
def test_held_referrals_and_notices_to_an_hmac_sm3_agency_are_all_signed_v1sm3(live, svc, stub, background, clock,
                                                                           sm3_agencies):
    from router.testing.agency_client import AgencyClient

    stub.learn_secrets(svc)
    r = live.post("/api/v1/disputes", body(_village(svc)))
    assert r.status_code == 201, r.text
    d = r.json()
    lead = lead_of(d)
    wait_for(lambda: stub.deliveries(lead["agency"]), what="the referral")
    key_id, secret = svc.rotate_agency_key(lead["agency"])
    sm3 = AgencyClient(live.base, key_id, secret, now=lambda: clock().timestamp(), algorithm="hmac-sm3")
    assert sm3.event(lead["id"], "acknowledged").status_code == 200
    # a GET is signed over "METHOD target": the handoff and the pull list, with HMAC-SM3
    assert sm3.handoff(lead["id"]).status_code == 200
    assert sm3.pull().status_code == 200
    sha = AgencyClient(live.base, key_id, secret, now=lambda: clock().timestamp())
    assert sha.handoff(lead["id"]).status_code == 401
    r = live.post(f"/api/v1/disputes/{d['id']}/actions", {"action": "urge", "reason": "请尽快办理"}, role="supervisor")
    assert r.status_code == 200, r.text
    got = wait_for(lambda: [x for x in stub.deliveries(lead["agency"]) if x.payload.get("kind") == "urge"],
                   what="the urge")
    everything = stub.deliveries(lead["agency"])
    assert got and all(x.verified for x in everything), [(x.payload.get("kind"), x.verified) for x in everything]
    assert all(x.headers["webhook-signature"].startswith("v1sm3,") for x in everything)


def test_held_a_pull_agency_on_hmac_sm3_reads_its_feed_only_with_sm3(live, svc, clock):
    from router.testing.agency_client import AgencyClient

    code = "T-SM3-PULL"
    try:
        key_id, secret = svc.add_agency(code, "测试国密拉取单位", "people_mediation", "town", _village(svc), None, -100,
                                        "pull", "hmac-sm3")
        now = lambda: clock().timestamp()  # noqa: E731
        sm3 = AgencyClient(live.base, key_id, secret, now=now, algorithm="hmac-sm3")
        assert sm3.feed().status_code == 200
        assert AgencyClient(live.base, key_id, secret, now=now).feed().status_code == 401
    finally:
        with svc.ctx.store.unit_of_work() as uow:
            uow.session.execute(update(Agency).where(Agency.code == code).values(active=False))
        svc.ctx.invalidate_registry()


# ---------------------------------------------------------------- agencies.yaml changing an agency's signing
def test_held_agencies_yaml_sets_and_unsets_an_agencys_signing(tmp_path):
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(config_dir(), conf)
    text = (conf / "agencies.yaml").read_text(encoding="utf-8")
    first = "  - code: SX-PM-330600000000\n"
    assert first in text
    (conf / "agencies.yaml").write_text(text.replace(first, first + "    signing: hmac-sm3\n", 1), encoding="utf-8")
    env = {**_env(tmp_path, "standard", "yaml.db"), "ROUTER_CONFIG_DIR": str(conf)}
    svc = build_services(load_settings(env), check_schema=False)
    svc.migrate()
    svc.sync_agencies()
    assert svc.agency_signing()["SX-PM-330600000000"] == "hmac-sm3"
    (conf / "agencies.yaml").write_text(text, encoding="utf-8")
    svc2 = build_services(load_settings(env))
    assert svc2.sync_agencies()["updated"] == 1
    assert svc2.agency_signing()["SX-PM-330600000000"] == "hmac-sha256"


# ---------------------------------------------------------------- the suite guard from the command line
def test_held_init_db_with_gm_on_a_standard_database_is_refused_with_the_fix(tmp_path):
    import os

    from tests.serving import cli

    env = {**os.environ, **_env(tmp_path, "standard", "cli.db")}
    r = cli(env, "init-db")
    assert r.returncode == 0, r.stderr
    r = cli({**env, "ROUTER_CRYPTO": "gm"}, "init-db")
    assert r.returncode == 2 and "ROUTER_CRYPTO=standard" in r.stderr, r.stdout + r.stderr
    r = cli({**env, "ROUTER_CRYPTO": "gm"}, "audit", "verify", "--full")
    assert r.returncode == 2 and "ROUTER_CRYPTO=standard" in r.stderr, r.stdout + r.stderr
    assert cli(env, "audit", "verify", "--full").returncode == 0


# ---------------------------------------------------------------- anchors on a gm store, several of them
def test_held_gm_anchors_chain_in_sm3_and_each_digest_checks(tmp_path):
    from router.services.anchors import digest_of

    svc = _services(tmp_path, init=True)
    _, d = svc.register_dispute(command(body(_village(svc))), CLERK)
    assert svc.verify_chain()["ok"]
    first, _ = svc.make_anchor(send=False)
    svc.act(d["id"], {"action": "urge", "reason": "催办"}, SUPERVISOR)
    assert svc.verify_chain()["ok"]
    second, _ = svc.make_anchor(send=False)
    assert second["prev_digest"] == first["digest"] and second["algorithm"] == "sm3"
    assert d["id"] in {s for s, _, _ in second["heads"]}
    for a in (first, second):
        assert digest_of(a["seq"], a["made_at"], a["prev_digest"], a["heads"], "sm3") == a["digest"]
        assert svc.check_anchor(a["digest"])["ok"]
    assert all(a["algorithm"] == "sm3" for a in svc.recent_anchors())


# ---------------------------------------------------------------- SM4-GCM
def test_held_sm4_gcm_matches_the_rfc_8998_vector():
    from router.store.crypto import Sm4Gcm

    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    iv = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    pt = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
                       "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
    sealed = Sm4Gcm(key).encrypt(iv, pt, aad)
    assert sealed[:-16].hex().upper() == ("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
                                          "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D")
    assert sealed[-16:].hex().upper() == "83DE3541E4C2B58177E065A9BF7B62EC"
    assert Sm4Gcm(key).decrypt(iv, sealed, aad) == pt


def test_bug_a_truncated_sm4_gcm_ciphertext_is_refused_like_an_aes_gcm_one():
    """Sm4Gcm claims AESGCM's interface: a ciphertext too short to hold its tag is InvalidTag there
    (as for the AES-GCM blob beside it), not cryptography's 'Authentication tag must be 16 bytes or
    longer' ValueError, which reads as a programming error rather than a damaged value."""
    from cryptography.exceptions import InvalidTag

    from router.store.crypto import GM, STANDARD, suite
    from router.store.pii import PiiCipher

    for name in (STANDARD, GM):
        c = PiiCipher(bytes(32), suite(name))
        blob = c.encrypt("13800138000", "phone")
        with pytest.raises(InvalidTag):
            c.decrypt(blob[:1 + 12 + 5], "phone")


# ---------------------------------------------------------------- the audit trail of an agency's signing
def test_bug_agency_add_records_its_signing_algorithm_on_the_audit_trail(tmp_path):
    """`agency add` records everything it set (endpoint, delivery, priority, its key) on the system
    chain, except how the agency's calls are signed, the one setting that decides which MAC is
    accepted from it: a later look at the audit trail cannot tell an HMAC-SM3 agency from a v1 one."""
    svc = _services(tmp_path, "standard", init=True, name="add.db")
    svc.add_agency("T-SM3-ADD", "测试国密单位", "people_mediation", "town", _village(svc), None, 0, "pull", "hmac-sm3")
    with svc.ctx.store.read() as s:
        added = s.scalars(select(Event).where(Event.type == "agency.added")).one()
    assert added.data.get("signing") == "hmac-sm3", added.data


# ---------------------------------------------------------------- a gm case file checked by any process
def test_held_a_gm_case_file_verifies_in_a_standard_process_and_its_suite_is_signed(tmp_path):
    import io
    import json
    import zipfile

    gm = _services(tmp_path, init=True)
    _, d = gm.register_dispute(command(body(_village(gm))), CLERK)
    data, _ = gm.case_file(d["id"])
    std = _services(tmp_path, "standard", name="other.db", check_schema=False)
    check = std.check_case_file(data, gm.case_file_key())
    assert check.ok and check.events >= 2, check.problems
    # the chain hash named in the manifest is covered by the manifest's signature: switching it fails
    z = zipfile.ZipFile(io.BytesIO(data))
    files = {i.filename: z.read(i) for i in z.infolist()}
    manifest = json.loads(files["manifest.json"])
    manifest["chain"]["hash"] = "sha256"
    files["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as w:
        for name, b in files.items():
            w.writestr(name, b)
    assert not std.check_case_file(out.getvalue(), gm.case_file_key()).ok


# ---------------------------------------------------------------- two processes setting up one database
def test_held_two_processes_recording_the_suite_at_once_agree_on_postgresql(settings):
    """Two processes start on a fresh database at the same moment, one gm and one standard: one suite
    is recorded and the other process is refused (never both accepted)."""
    import threading
    import uuid

    from sqlalchemy import event
    from sqlalchemy.engine import make_url

    from router.domain.errors import ConfigError
    from router.store.db import make_engine
    from router.store.migrate import upgrade
    from router.store.store_settings import settle_suite

    if settings.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's BEGIN IMMEDIATE serialises the two")
    name = f"review_race_{uuid.uuid4().hex[:8]}"
    admin = make_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    url = make_url(settings.database_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        barrier = threading.Barrier(2, timeout=10)

        def meet(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO STORE_SETTINGS"):
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait()

        event.listen(engine, "before_cursor_execute", meet)
        results: dict[str, Any] = {}

        def one(wanted: str) -> None:
            try:
                results[wanted] = settle_suite(engine, wanted)
            except ConfigError as e:
                results[wanted] = e
            except Exception as e:  # noqa: BLE001
                results[wanted] = e

        threads = [threading.Thread(target=one, args=(w,)) for w in ("gm", "standard")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        refused = [w for w, r in results.items() if isinstance(r, ConfigError)]
        accepted = [w for w, r in results.items() if isinstance(r, str)]
        assert len(refused) == 1 and len(accepted) == 1, results
        assert settle_suite(engine, accepted[0]) == accepted[0]
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


# ---------------------------------------------------------------- party look-up through HMAC-SM3
def test_held_a_gm_store_finds_a_dispute_by_its_applicants_id_number_and_phone(tmp_path):
    svc = _services(tmp_path, init=True)
    b = body(_village(svc))
    _, d = svc.register_dispute(command(b), CLERK)
    applicant = b["parties"][0]
    for typed in (applicant["id_number"], applicant["phone"]):
        assert d["id"] in {r["id"] for r in svc.lookup(typed)}, typed
