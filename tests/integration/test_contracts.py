"""contracts/openapi.json is generated from the code; this fails when it is stale."""

from __future__ import annotations

import json

from router.api.openapi import render
from tests.builders import CONTRACTS

CONTRACT = CONTRACTS / "openapi.json"


def test_openapi_contract_is_current(app):
    current = render(app)
    assert CONTRACT.exists(), "run: dispute-router openapi --write contracts/openapi.json"
    assert json.loads(CONTRACT.read_text(encoding="utf-8")) == json.loads(current), (
        "contracts/openapi.json is stale: run `dispute-router openapi --write contracts/openapi.json`")


def test_contract_has_the_api_md_endpoints(app):
    doc = json.loads(render(app))
    paths = doc["paths"]
    for p in ("/api/v1/disputes", "/api/v1/disputes/{dispute_id}", "/api/v1/disputes/{dispute_id}/actions",
              "/api/v1/reference/categories", "/api/v1/reference/divisions", "/api/v1/agencies", "/healthz",
              "/readyz"):
        assert p in paths, p
    post = paths["/api/v1/disputes"]["post"]
    assert {"201", "400", "401", "403", "409", "413", "415", "422"} <= set(post["responses"])
