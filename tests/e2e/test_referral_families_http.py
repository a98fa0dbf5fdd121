"""Issue 12's acceptance, per family, over real HTTP: a referral from a court, the police, a petition
office, a procuratorate and a labour arbitration commission reaches in_handling at the right body, and
its result comes back to the sender signed, with its number, validating against its family's contract."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from tests.builders import CONTRACTS, body, county, lead_of, wait_for

FAMILIES = {
    "court": {"case_no": "(2026)浙0681民诉前调77号", "cause": "民间借贷纠纷"},
    "police": {"incident_no": "JQ2026112300077"},
    "petition": {"petition_no": "XF2026112300077", "notify_by": "2026-12-08"},
    "procuratorate": {},
    "labour_arbitration": {},
}


def _sender(svc, body_type: str) -> str:
    centre = svc.ctx.config.divisions.centre.code[:6]
    codes = sorted(c for c, a in svc.ctx.registry().by_code.items() if str(a.body_type) == body_type and a.active)
    return next((c for c in codes if centre in c), codes[0])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_referral_reaches_a_body_and_its_result_comes_back(family, live, svc, agencies, stub, background):
    code = _sender(svc, family)
    b: dict[str, Any] = body(county(svc)["v"], "LABOUR" if family == "labour_arbitration" else "CONTRACT")
    b.pop("source"), b.pop("source_ref")
    number = f"{family}-77"
    r = agencies(code).request("POST", "/api/v1/intake/referral", {**b, "referral_no": number,
                                                                   "details": FAMILIES[family]})
    assert r.status_code == 201, r.text
    d = r.json()
    if family in ("court", "petition"):  # the sender's own deadline is the dispute's outer one
        assert d["referral"]["outer_due"] and d["referral"]["outer_due_rule"]
    lead = lead_of(d)
    assert lead["agency"] != code  # mediated by another body, not sent back to its sender
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    assert live.get(f"/api/v1/disputes/{d['id']}").json()["state"] == "in_handling"
    a.event(lead["id"], "outcome", outcome={"result": "agreement", "agreement": {"terms": "双方和解"}})
    assert live.post(f"/api/v1/disputes/{d['id']}/actions", {"action": "close", "reason": "已化解"},
                     role="supervisor").status_code == 200
    got = wait_for(lambda: [x for x in stub.deliveries(code) if x.payload.get("kind") == "referral_result"])
    result = got[0]
    assert result.verified and result.payload["referral_no"] == number and result.payload["resolved"] is True
    schema = json.loads((CONTRACTS / f"referral-result-{family}.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(result.payload, schema, format_checker=jsonschema.FormatChecker())
    statuses = [x.payload for x in stub.deliveries(code) if x.payload.get("kind") == "referral_status"]
    assert {"handed_off", "in_handling"} <= {s["status"] for s in statuses}
