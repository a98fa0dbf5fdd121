"""A 国密 deployment end to end (ROUTER_CRYPTO=gm): personal data in SM4-GCM, lookup hashes in
HMAC-SM3, the chain and the anchors in SM3, case files that say so; a database keeps the suite it
was set up with; an agency may sign with HMAC-SM3 both ways."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from router.domain.errors import ConfigError
from router.services.anchors import digest_of
from router.store.chain import GENESIS, hash_of, hashed_fields
from router.store.db import make_engine
from router.store.models import Event, Party
from tests.builders import CLERK, PII_KEY, body, command, config_dir, lead_of, wait_for
from tests.serving import services_on


def _env(tmp_path, crypto: str) -> dict[str, str]:
    return {"ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'gm.db'}", "ROUTER_CONFIG_DIR": config_dir(),
            "ROUTER_VAR_DIR": str(tmp_path / "var"), "ROUTER_PII_KEY": PII_KEY, "ROUTER_SECRET_KEY": "s",
            "ROUTER_CRYPTO": crypto}


def _services(tmp_path, crypto: str, *, init: bool = False) -> Any:
    return services_on(_env(tmp_path, crypto), init=init)


def _village(svc) -> str:
    return next(d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village")


def test_a_gm_store_encrypts_hashes_and_chains_with_sm3_and_sm4(tmp_path):
    svc = _services(tmp_path, "gm", init=True)
    _, d = svc.register_dispute(command(body(_village(svc))), CLERK)
    with svc.ctx.store.read() as s:
        p = s.scalars(select(Party).where(Party.dispute_id == d["id"], Party.idx == 0)).one()
        assert p.id_number_enc[:1] == b"\x12" and p.phone_enc[:1] == b"\x12"  # SM4-GCM
        events = s.scalars(select(Event).where(Event.stream == d["id"]).order_by(Event.stream_seq)).all()
        prev = GENESIS
        for e in events:
            assert e.prev_hash == prev and e.hash == hash_of(hashed_fields(e), "sm3") != hash_of(hashed_fields(e))
            prev = e.hash
    assert svc.verify_chain(full=True)["ok"]
    assert svc.lookup(d["reference"])[0]["id"] == d["id"]
    anchor, _ = svc.make_anchor(send=False)
    assert anchor["algorithm"] == "sm3"
    recomputed = digest_of(anchor["seq"], anchor["made_at"], anchor["prev_digest"], anchor["heads"], "sm3")
    assert recomputed == anchor["digest"]
    assert svc.check_anchor(anchor["digest"])["ok"]


def test_a_gm_case_file_names_its_chain_hash_and_verifies(tmp_path):
    svc = _services(tmp_path, "gm", init=True)
    _, d = svc.register_dispute(command(body(_village(svc))), CLERK)
    data, _name = svc.case_file(d["id"])
    check = svc.check_case_file(data)
    assert not check.problems and check.events >= 1


def test_duplicates_are_found_through_hmac_sm3_lookup_hashes(tmp_path):
    svc = _services(tmp_path, "gm", init=True)
    first = body(_village(svc))
    _, a = svc.register_dispute(command(first), CLERK)
    _, b = svc.register_dispute(command({**first}), CLERK)
    assert (b.get("duplicate_of") or {}).get("id") == a["id"]


def test_a_database_keeps_the_suite_it_was_set_up_with(tmp_path):
    svc = _services(tmp_path, "gm", init=True)
    svc.register_dispute(command(body(_village(svc))), CLERK)
    with pytest.raises(ConfigError) as e:
        _services(tmp_path, "standard")
    assert "ROUTER_CRYPTO=gm" in str(e.value)
    assert _services(tmp_path, "gm") is not None


def test_a_database_with_events_from_before_the_suite_was_recorded_is_standard(tmp_path):
    svc = _services(tmp_path, "standard", init=True)
    svc.register_dispute(command(body(_village(svc))), CLERK)
    engine = make_engine(_env(tmp_path, "standard")["ROUTER_DATABASE_URL"])
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM store_settings")  # as a database migrated from 0017 has it
    with pytest.raises(ConfigError):
        _services(tmp_path, "gm")
    assert _services(tmp_path, "standard") is not None


# ---------------------------------------------------------------- an agency signing with HMAC-SM3
def test_an_hmac_sm3_agency_is_signed_for_and_must_sign_with_sm3(live, svc, stub, background, clock, sm3_agencies):
    from router.testing.agency_client import AgencyClient

    stub.learn_secrets(svc)
    r = live.post("/api/v1/disputes", body(_village(svc)))
    assert r.status_code == 201, r.text
    lead = lead_of(r.json())
    got = wait_for(lambda: stub.deliveries(lead["agency"]))
    assert got[0].verified and got[0].headers["webhook-signature"].startswith("v1sm3,")
    key_id, secret = svc.rotate_agency_key(lead["agency"])
    now = lambda: clock().timestamp()  # noqa: E731
    sha = AgencyClient(live.base, key_id, secret, now=now)
    assert sha.event(lead["id"], "acknowledged").status_code == 401  # a v1 signature is not this agency's
    sm3 = AgencyClient(live.base, key_id, secret, now=now, algorithm="hmac-sm3")
    assert sm3.event(lead["id"], "acknowledged").status_code == 200
