"""The contract taken exactly (issue 14, item 5): one form of a date, JSON's booleans, names that are
one line of visible text, 405 with Allow, and the public endpoints documented as public."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.builders import ROOT, body, county


def _post(client: Any, token: str, b: dict[str, Any]) -> Any:
    return client.post("/api/v1/disputes", json=b, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("day", ["20261001", "2026-W40", "2026-W40-4", "2026-274", "2026-10-1", "2026-10-01T00:00",
                                 " 2026-10-01", 20261001])
def test_a_date_is_yyyy_mm_dd_and_nothing_else(client, tokens, svc, day):
    r = _post(client, tokens["clerk"], body(county(svc)["v"], occurred_on=day))
    assert r.status_code == 422 and "occurred_on" in r.json["error"]["fields"], r.json


def test_a_date_in_the_one_form_is_taken(client, tokens, svc):
    assert _post(client, tokens["clerk"], body(county(svc)["v"], occurred_on="2026-10-01")).status_code == 201


@pytest.mark.parametrize("flag", [0, 1, "true", "yes", "on", "1", None])
def test_a_boolean_is_true_or_false(client, tokens, svc, flag):
    b = body(county(svc)["v"])
    b["parties"][0]["consent"] = flag
    r = _post(client, tokens["clerk"], b)
    assert r.status_code == 422 and "parties.0.consent" in r.json["error"]["fields"], r.json


@pytest.mark.parametrize("name", [" ", "\u3000", "\u200b", "张\u200b三", "\u202e三张", "张\n三", "张\t三", "\ufeff张三",
                                  "张\u2028三"])
def test_a_name_is_one_line_of_visible_text(client, tokens, svc, name):
    b = body(county(svc)["v"])
    b["parties"][1]["name"] = name
    r = _post(client, tokens["clerk"], b)
    assert r.status_code == 422 and "parties.1.name" in r.json["error"]["fields"], r.json


@pytest.mark.parametrize("name", ["张三", "阿依古丽·买买提", "O'Brien Zhang", "某某（杭州）建设有限公司"])
def test_real_names_are_taken(client, tokens, svc, name):
    b = body(county(svc)["v"])
    b["parties"][1]["name"] = name
    assert _post(client, tokens["clerk"], b).status_code == 201


def test_a_method_the_route_does_not_take_is_405_with_allow(client, tokens):
    for method in ("put", "patch", "delete"):
        r = getattr(client, method)("/api/v1/disputes", data="x", content_type="text/plain",
                                    headers={"Authorization": f"Bearer {tokens['clerk']}"})
        assert r.status_code == 405 and r.json["error"]["code"] == "method_not_allowed", (method, r.status_code)
        assert {"GET", "POST"} <= {m.strip() for m in r.headers["Allow"].split(",")}


def test_the_public_endpoints_need_no_credentials_in_the_contract():
    doc = json.loads(Path(ROOT, "contracts", "openapi.json").read_text(encoding="utf-8"))
    for path in ("/healthz", "/readyz", "/metrics"):
        assert doc["paths"][path]["get"]["security"] == [], path


def test_every_route_with_a_path_parameter_documents_its_404():
    doc = json.loads(Path(ROOT, "contracts", "openapi.json").read_text(encoding="utf-8"))
    missing = [(m, p) for p, ops in doc["paths"].items() if "{" in p
               for m, op in ops.items() if isinstance(op, dict) and "404" not in op.get("responses", {})]
    assert missing == []


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_answer_what_the_contract_documents(client, path):
    import jsonschema

    doc = json.loads(Path(ROOT, "contracts", "openapi.json").read_text(encoding="utf-8"))
    r = client.get(path)
    documented = doc["paths"][path]["get"]["responses"][str(r.status_code)]
    ref = documented["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    jsonschema.validate(r.json, {**doc["components"]["schemas"][ref], "components": doc["components"]})
