"""`dispute-router audit anchor | anchors | check-anchor`, as an operator runs them."""

from __future__ import annotations

import re

from tests.serving import cli, prepared, register_into


def test_an_operator_makes_an_anchor_and_checks_the_store_against_it(tmp_path):
    env, _ = prepared(tmp_path)
    register_into(env, 2)
    assert cli(env, "audit", "verify").returncode == 0
    made = cli(env, "audit", "anchor", "--json")
    assert made.returncode == 0, made.stderr
    digest = re.search(r"^digest ([0-9a-f]{64})$", made.stdout, re.M).group(1)
    assert '"heads"' in made.stdout and "anchor 1 made" in made.stdout
    listed = cli(env, "audit", "anchors")
    assert listed.returncode == 0 and digest in listed.stdout and "not sent" in listed.stdout
    ok = cli(env, "audit", "check-anchor", digest)
    assert ok.returncode == 0 and "OK" in ok.stdout, ok.stdout + ok.stderr
    unknown = cli(env, "audit", "check-anchor", "0" * 64)
    assert unknown.returncode == 1 and "no anchor in the store has this digest" in unknown.stdout


def test_a_witness_that_does_not_answer_is_reported(tmp_path):
    env, _ = prepared(tmp_path)
    r = cli({**env, "ROUTER_ANCHOR_URL": "http://127.0.0.1:9/anchors"}, "audit", "anchor")
    assert r.returncode == 1 and "did not take it" in r.stderr and re.search(r"^digest [0-9a-f]{64}$", r.stdout, re.M)
