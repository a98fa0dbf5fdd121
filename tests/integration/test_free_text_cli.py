"""`dispute-router pii originals`: the operator's 原文调阅 of masked free text, in its own process."""

from __future__ import annotations

from router.services import build_services
from router.settings import load_settings
from tests.builders import CLERK, body, command
from tests.serving import cli, prepared


def test_the_operator_reads_the_original_and_the_reading_is_on_the_trail(tmp_path):
    env, _ = prepared(tmp_path)
    svc = build_services(load_settings(env))
    village = next(d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village")
    _, d = svc.register_dispute(command(body(village, summary="对方电话13912345678")), CLERK)
    assert d["summary"] == "对方电话139****5678"
    r = cli(env, "pii", "originals", d["reference"], "--operator", "张主任", "--to", "某区人民法院",
            "--basis", "调取证据通知书")
    assert r.returncode == 0, r.stderr
    assert "对方电话13912345678" in r.stdout and f"disputes:{d['id']}:summary" in r.stdout
    assert "revealed to 某区人民法院" in r.stdout
    timeline = svc.timeline(d["id"])
    assert [e["type"] for e in timeline["events"]][-1] == "pii.revealed"


def test_a_reading_without_a_basis_is_refused(tmp_path):
    env, _ = prepared(tmp_path)
    r = cli(env, "pii", "originals", "X", "--operator", "张主任", "--to", "某区人民法院")
    assert r.returncode == 2 and "--basis" in r.stderr
    r = cli(env, "pii", "originals", "no-such", "--operator", "张主任", "--to", "法院", "--basis", "调取")
    assert r.returncode == 2 and "no such dispute" in r.stderr
