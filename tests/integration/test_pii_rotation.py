"""Versioned personal-data keys (issue 14 item 11): a new ROUTER_PII_KEY with the old one in
ROUTER_PII_OLD_KEYS reads, looks up and de-duplicates everything the old key wrote; `keys
rotate-pii` re-encrypts it in batches; then the old key can go."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import select

from router.store.models import AgencyKey, Party, SealedText
from tests.builders import CLERK, body, command, config_dir
from tests.serving import cli, services_on

KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()


def _env(tmp_path, key: str, old: str = "") -> dict[str, str]:
    return {"ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'keys.db'}", "ROUTER_CONFIG_DIR": config_dir(),
            "ROUTER_VAR_DIR": str(tmp_path / "var"), "ROUTER_PII_KEY": key, "ROUTER_PII_OLD_KEYS": old,
            "ROUTER_SECRET_KEY": "s"}


def _services(tmp_path, key: str, old: str = "", *, init: bool = False) -> Any:
    return services_on(_env(tmp_path, key, old), init=init)


def _village(svc) -> str:
    return next(d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village")


@pytest.fixture
def written_with_a(tmp_path):
    svc = _services(tmp_path, KEY_A, init=True)
    sent = body(_village(svc), summary="对方电话13912345678")
    _, d = svc.register_dispute(command(sent), CLERK)
    return sent, d


def test_the_old_key_still_reads_looks_up_and_finds_duplicates(tmp_path, written_with_a):
    sent, d = written_with_a
    svc = _services(tmp_path, KEY_B, KEY_A)
    id_number = sent["parties"][0]["id_number"]
    assert [r["id"] for r in svc.lookup(id_number)] == [d["id"]]
    (kept,) = svc.reveal_originals(d["id"], operator="张主任", to="法院", basis="调取")
    assert kept["original"].endswith("13912345678")
    assert svc.agency_secrets()  # the agencies' signing secrets, written under A
    _, again = svc.register_dispute(command({**sent, "summary": "又来登记"}), CLERK)
    assert (again.get("duplicate_of") or {}).get("id") == d["id"]
    with svc.ctx.store.read() as s:
        newest = s.scalars(select(Party).where(Party.dispute_id == again["id"], Party.idx == 0)).one()
    assert svc.ctx.cipher.is_current(newest.id_number_enc)


def test_without_the_old_key_its_data_cannot_be_read_and_says_why(tmp_path, written_with_a):
    svc = _services(tmp_path, KEY_B)
    with pytest.raises(ValueError, match="ROUTER_PII_OLD_KEYS"):
        svc.agency_secrets()


def test_rotation_moves_everything_to_the_new_key_and_the_old_one_can_go(tmp_path, written_with_a):
    sent, d = written_with_a
    svc = _services(tmp_path, KEY_B, KEY_A)
    before = svc.pii_key_status()
    assert before["old"] >= 3 and before["current"] == 0
    steps: list[tuple[int, int]] = []
    r = svc.rotate_pii_keys(batch=2, progress=lambda done, total: steps.append((done, total)))
    assert r["rotated"] == before["old"] and r["left"] == 0 and steps[-1][0] == steps[-1][1]
    assert svc.pii_key_status() == {"current": before["old"], "old": 0}
    assert svc.rotate_pii_keys() == {"rotated": 0, "skipped": 0, "unreadable": 0, "unreadable_at": [], "left": 0}
    only_b = _services(tmp_path, KEY_B)
    with only_b.ctx.store.read() as s:
        for blob in [*s.scalars(select(AgencyKey.secret_enc)), *s.scalars(select(SealedText.original_enc))]:
            assert only_b.ctx.cipher.is_current(blob)
    assert [x["id"] for x in only_b.lookup(sent["parties"][0]["id_number"])] == [d["id"]]
    assert [x["id"] for x in only_b.lookup(sent["parties"][0]["phone"])] == [d["id"]]
    assert only_b.agency_secrets()
    _, again = only_b.register_dispute(command({**sent, "summary": "又来登记"}), CLERK)
    assert (again.get("duplicate_of") or {}).get("id") == d["id"]
    assert only_b.verify_chain(full=True)["ok"]  # the rotation's own event is on the system chain


def test_the_operator_rotates_from_the_command_line(tmp_path, written_with_a):
    env = {**_env(tmp_path, KEY_B, KEY_A)}
    status = cli(env, "keys", "status")
    assert status.returncode == 0 and "under an older key" in status.stdout
    r = cli(env, "keys", "rotate-pii", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "remove it from ROUTER_PII_OLD_KEYS" in r.stdout
    assert "0 under an older key" in cli(env, "keys", "status").stdout
