"""`dispute-router backup` and `restore` (issue 14, item 11): a copy taken while registrations go on is
consistent and checked; a restored copy is migrated and checked; a tampered copy says so; the
database in use is never overwritten by mistake."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from tests.serving import cli, count_rows, prepared, register_into


def test_a_backup_taken_while_registering_is_consistent_and_restores(tmp_path):
    env, _ = prepared(tmp_path / "live")
    register_into(env, 20)
    busy = threading.Thread(target=register_into, args=(env, 40))
    busy.start()
    copy = tmp_path / "copy.db"
    r = cli(env, "backup", str(copy))
    busy.join(120)
    assert r.returncode == 0 and "hash chains intact" in r.stdout, r.stdout + r.stderr
    assert "ROUTER_PII_KEY" in r.stdout  # the keys are said to be kept apart
    assert 20 <= count_rows(copy, "disputes") <= 60
    assert not list(tmp_path.glob(".copy.db.part"))

    fresh = {**env, "ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'restored' / 'r.db'}"}
    (tmp_path / "restored").mkdir()
    r = cli(fresh, "restore", str(copy))
    assert r.returncode == 0 and "hash chains intact" in r.stdout, r.stdout + r.stderr
    assert count_rows(tmp_path / "restored" / "r.db", "disputes") == count_rows(copy, "disputes")
    # the restored database serves: the same key reads its parties, and it takes new registrations
    register_into(fresh, 1)


def test_a_tampered_copy_is_said_to_be_broken(tmp_path):
    env, _ = prepared(tmp_path / "live")
    register_into(env, 3)
    copy = tmp_path / "copy.db"
    assert cli(env, "backup", str(copy)).returncode == 0
    with sqlite3.connect(copy) as c:
        c.execute("UPDATE events SET actor = 'user:nobody' WHERE stream_seq = 1 AND stream IN "
                  "(SELECT id FROM disputes LIMIT 1)")
    fresh = {**env, "ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    r = cli(fresh, "restore", str(copy))
    assert r.returncode == 1 and "BROKEN" in r.stdout and "first broken link" in r.stdout, r.stdout


def test_restore_keeps_a_database_that_holds_data_unless_forced(tmp_path):
    env, _ = prepared(tmp_path / "live")
    register_into(env, 2)
    copy = tmp_path / "copy.db"
    assert cli(env, "backup", str(copy)).returncode == 0
    register_into(env, 3)
    r = cli(env, "restore", str(copy))
    assert r.returncode == 2 and "--force" in r.stderr, r.stdout + r.stderr
    db = Path(env["ROUTER_DATABASE_URL"].removeprefix("sqlite:///"))
    assert count_rows(db, "disputes") == 5
    assert cli(env, "restore", str(copy), "--force").returncode == 0
    assert count_rows(db, "disputes") == 2
    assert cli(env, "backup", str(db)).returncode == 2  # never onto itself


@pytest.mark.skipif(not os.environ.get("ROUTER_TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_on_postgresql_it_says_what_to_use_instead(tmp_path):
    env, _ = prepared(tmp_path)
    env = {**env, "ROUTER_DATABASE_URL": os.environ["ROUTER_TEST_DATABASE_URL"]}
    r = cli(env, "backup", str(tmp_path / "x.db"))
    assert r.returncode == 2 and "pg_dump" in r.stderr, r.stdout + r.stderr




def test_audit_verify_on_the_command_line(tmp_path):
    env, _ = prepared(tmp_path / "live")
    register_into(env, 3)
    r = cli(env, "audit", "verify", "--quiet")
    assert r.returncode == 0 and "incremental" in r.stdout and "OK" in r.stdout, r.stdout + r.stderr
    db = Path(env["ROUTER_DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(db) as c:
        c.execute("UPDATE events SET actor = 'user:nobody' WHERE stream_seq = 1 AND stream IN "
                  "(SELECT id FROM disputes LIMIT 1)")
    assert cli(env, "audit", "verify", "--quiet").returncode == 0  # nothing moved: not read
    r = cli(env, "audit", "verify", "--full", "--quiet")
    assert r.returncode == 1 and "broken link" in r.stdout, r.stdout + r.stderr
