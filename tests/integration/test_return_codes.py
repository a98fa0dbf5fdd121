"""Return reasons as codes (docs/domain.md §7): the code on a `returned` report decides where the
dispute goes next: another agency of the same body type, the routing's next body type, or the
supervisors when no other body can solve it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from router.domain.errors import ValidationError
from tests.builders import events_of, lead_of, register


def _return(svc, d: dict[str, Any], code: str | None, reason: str = "退回理由") -> dict[str, Any]:
    h = lead_of(svc.get_dispute(d["id"]))
    body = {"event_id": uuid.uuid4().hex, "type": "returned", "reason": reason, "basis": "人民调解法第17条"}
    if code:
        body["reason_code"] = code
    svc.agency_event(h["agency"], h["id"], body)
    return svc.get_dispute(d["id"])


def _leads(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [h for h in view["handoffs"] if h["role"] == "lead"]


def test_not_our_area_offers_another_agency_of_the_same_body_type(svc, clock):
    d = register(svc)
    first = lead_of(d)
    view = _return(svc, d, "not_our_area", "当事人住所不在本村")
    second = _leads(view)[-1]
    assert view["state"] == "handed_off"
    assert second["agency"] != first["agency"] and second["body_type"] == first["body_type"]
    returned = events_of(svc, d["id"], "handoff.return_", data_only=True)[0]
    assert (returned["reason_code"], returned["reason_code_name"]) == ("not_our_area", "不属本辖区")


def test_not_our_scope_moves_on_to_the_routings_next_body_type(svc, clock):
    d = register(svc, category="PROPERTY_MGMT")  # property mediation, then people mediation
    first = lead_of(d)
    assert first["body_type"] == "property_mediation"
    view = _return(svc, d, "not_our_scope", "不属物业纠纷")
    assert view["state"] == "handed_off"
    assert _leads(view)[-1]["body_type"] == "people_mediation"


def test_not_our_scope_with_no_other_body_type_goes_to_supervisors(svc, clock):
    d = register(svc)  # NEIGHBOUR: people mediation only
    view = _return(svc, d, "not_our_scope")
    assert view["state"] == "needs_supervisor"
    assert len(_leads(view)) == 1


@pytest.mark.parametrize("code", ["party_refuses", "in_proceedings"])
def test_returns_no_other_body_solves_go_to_supervisors_with_the_reason(svc, clock, code):
    d = register(svc)
    view = _return(svc, d, code)
    assert view["state"] == "needs_supervisor" and len(_leads(view)) == 1
    routed = events_of(svc, d["id"], "dispute.route_to_supervisor", data_only=True)[0]
    assert routed["return_code"] == code and "需督办决定" in routed["reason"]


def test_a_return_without_a_code_is_other_and_reroutes_as_before(svc, clock):
    d = register(svc)
    first = lead_of(d)
    view = _return(svc, d, None)
    assert view["state"] == "handed_off" and _leads(view)[-1]["agency"] != first["agency"]
    assert events_of(svc, d["id"], "handoff.return_", data_only=True)[0]["reason_code"] == "other"


def test_a_reason_code_on_another_report_is_refused_and_changes_nothing(svc, clock):
    d = register(svc)
    h = lead_of(d)
    with pytest.raises(ValidationError) as e:
        svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": "acknowledged",
                                                "reason_code": "not_our_area"})
    assert e.value.field == "reason_code"
    assert lead_of(svc.get_dispute(d["id"]))["state"] == "offered"
