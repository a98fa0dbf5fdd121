"""Data minimisation per recipient (docs/domain.md §9): bodies.yaml `share` says which of a party's ID
number and phone each body type gets, by its role (an assisting body no more than the lead); a party
that did not consent shares only its name, unless a legal basis stands in; the audit names exactly
what each referral revealed."""

from __future__ import annotations

import pytest

from router.adapters import adapter_for
from router.domain.errors import ConfigError
from router.domain.sharing import share_config
from router.services.referral import referral_input, revealed_fields
from router.store.models import Handoff
from tests.builders import body, county, register


def _payload(svc, handoff_id: str) -> dict:
    with svc.ctx.store.read() as s:
        h = s.get(Handoff, handoff_id)
        return adapter_for(h.body_type).build(referral_input(svc.ctx, s, h))


def _by_type(view: dict, body_type: str) -> dict:
    return next(h for h in view["handoffs"] if h["body_type"] == body_type)


def test_a_village_committee_gets_names_and_phones_the_police_get_id_numbers(svc):
    d = register(svc, risk_flags=["violence_threat"])  # people mediation leads, the police assist
    lead = _payload(svc, _by_type(d, "people_mediation")["id"])
    police = _payload(svc, _by_type(d, "police")["id"])
    assert lead["parties"][0]["phone"] and lead["parties"][0]["id_number"] is None
    assert police["parties"][0]["phone"] and police["parties"][0]["id_number"]
    assert revealed_fields(lead) == ["parties.0.phone"]
    assert revealed_fields(police) == ["parties.0.id_number", "parties.0.phone"]


def test_legal_aid_gets_only_the_applicant(svc):
    d = register(svc, category="MARRIAGE_FAMILY", risk_flags=["domestic_violence"])
    aid = _payload(svc, _by_type(d, "legal_aid")["id"])
    assert [p["role"] for p in aid["applicants"]] == ["applicant"] and aid["applicants"][0]["id_number"]


def test_a_party_that_did_not_consent_shares_only_its_name_unless_a_basis_stands(svc):
    b = body(county(svc)["v"], "LABOUR")
    applicant = {**b["parties"][0], "consent": False}
    d = register(svc, category="LABOUR", parties=[applicant, b["parties"][1]])
    assert d["parties"][0]["consent"] is False
    p = _payload(svc, d["handoffs"][0]["id"])["parties"][0]
    assert p["name"] == "张三" and p["id_number"] is None and p["phone"] is None
    other = body(county(svc)["v"], "LABOUR")["parties"][0]  # another applicant: not a repeat held for 并单
    based = {**other, "consent": False, "sharing_basis": "police_report"}
    d2 = register(svc, category="LABOUR", parties=[based, b["parties"][1]])
    p2 = _payload(svc, d2["handoffs"][0]["id"])["parties"][0]
    assert p2["id_number"] == based["id_number"] and d2["parties"][0]["sharing_basis"] == "police_report"


def test_an_assisting_body_may_not_get_more_than_the_lead():
    with pytest.raises(ConfigError, match="assist"):
        share_config({"lead": ["phone"], "assist": ["id_number", "phone"]}, "body_types.x.share", "bodies.yaml")
    with pytest.raises(ConfigError):
        share_config({"lead": ["address"]}, "body_types.x.share", "bodies.yaml")
