"""`dispute-router archive export | verify | public-key` and `reports rebuild` as real processes, on the
suite's database with the hand-built disputes of tests/scenarios.py."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from datetime import date, timedelta

import pytest

from router.services import Actor
from tests.builders import PII_KEY, ROOT
from tests.scenarios import build


@pytest.fixture
def env(settings):
    e = dict(os.environ)
    e.update({"ROUTER_DATABASE_URL": settings.database_url, "ROUTER_VAR_DIR": str(settings.var_dir),
              "ROUTER_PII_KEY": PII_KEY, "ROUTER_SECRET_KEY": settings.secret_key,
              "ROUTER_CONFIG_DIR": str(settings.config_dir)})
    return e


def run(env, *args):
    return subprocess.run([sys.executable, "-m", "router.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def test_export_the_period_then_verify_each_file(env, svc, clock, tmp_path):
    s = build(svc, clock)
    svc.act(s["S1"]["id"], {"action": "archive", "reason": "归档"}, Actor("user", "sup", "supervisor"))
    out = tmp_path / "files"
    r = run(env, "archive", "export", "--from", "2026-11-01", "--to", "2026-11-30", str(out))
    assert r.returncode == 0, r.stderr
    assert "4 case files" in r.stdout and "4 written" in r.stdout
    index = list(csv.DictReader((out / "index.csv").open(encoding="utf-8-sig")))
    # closed in November (S5 withdrawn); S3's dissatisfied follow-up started 重办, so it is open again
    closed = {s[k]["id"] for k in ("S1", "S4", "S5", "S8")}
    assert {row["dispute_id"] for row in index} == closed
    kept, _ = svc.case_file(s["S1"]["id"])
    assert (out / f"case-file-{s['S1']['id']}.zip").read_bytes() == kept  # the archived one: its kept bundle
    for row in index:
        v = run(env, "archive", "verify", str(out / row["file"]))
        assert v.returncode == 0 and v.stdout.strip().endswith("OK"), v.stdout + v.stderr

    again = run(env, "archive", "export", "--from", "2026-11-01", "--to", "2026-11-30", str(out), "--quiet")
    assert "0 written, 4 already there" in again.stdout  # an interrupted export resumes

    path = out / index[0]["file"]
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["dispute.json"] = files["dispute.json"].replace("张三".encode(), "李四".encode(), 1)
    with zipfile.ZipFile(path, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    bad = run(env, "archive", "verify", str(path))
    assert bad.returncode == 1 and "dispute.json" in bad.stdout and bad.stdout.strip().endswith("FAILED")


def test_public_key_and_rebuild(env, svc, clock):
    build(svc, clock)
    r = run(env, "archive", "public-key")
    assert r.returncode == 0 and r.stdout.strip() == svc.case_file_key()
    r = run(env, "reports", "rebuild", "--quiet")
    assert r.returncode == 0 and "10 disputes" in r.stdout, r.stderr


def test_demo_data_fills_the_reports_once(env, svc):
    r = run(env, "demo-data", "--disputes", "300", "--days", "200")
    assert r.returncode == 0 and "300 disputes added" in r.stdout, r.stderr
    assert "0 disputes added" in run(env, "demo-data", "--disputes", "300", "--days", "200").stdout
    today = date.today() + timedelta(days=1)  # the command ran on the real clock, not the suite's
    k = {x["code"]: x for x in svc.kpi_report({"from_": today - timedelta(days=400), "to": today})["kpis"]}
    assert k["received"]["value"] == 300 and k["success_rate"]["denominator"] > 100
    assert svc.verify_chain()["ok"]
