"""Return reason codes and the re-route they decide. Found by the issue-11 review; each failed before its fix."""

from __future__ import annotations

import uuid
from typing import Any

from tests.builders import CLERK, body, command, county, events_of, lead_of, move_past


def _return(svc, d: dict[str, Any], code: str | None) -> dict[str, Any]:
    h = lead_of(svc.get_dispute(d["id"]))
    svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": "returned", "reason": "退回理由",
                                           "basis": "人民调解法第17条", **({"reason_code": code} if code else {})})
    return svc.get_dispute(d["id"])


def test_not_our_area_goes_to_an_agency_covering_the_partys_division(svc, clock):
    """DOMAIN.md §11: "another area -> an agency of the same body type covering the party's division".
    next_lead (router/services/dispatch.py) searches from the dispute's own division again (facts_of(d)),
    so the case goes to the returning committee's own town, which does not cover where the parties
    live either: the same area problem, one tier up."""
    c = county(svc)
    b = body(c["v"])
    for p in b["parties"]:
        p["division"] = c["v_other_town"]  # both parties live in another town
    d = svc.register_dispute(command(b), CLERK)[1]
    view = _return(svc, d, "not_our_area")
    nxt = lead_of(view)
    assert view["state"] == "handed_off"
    info = svc.ctx.registry().by_code[nxt["agency"]]
    assert info.covers(c["v_other_town"]), f"{nxt['agency']} covers {info.jurisdiction}, not the parties' division"


def test_a_return_at_arbitration_after_failed_labour_mediation_does_not_go_back_to_mediation(svc, clock):
    """docs/domain.md: "at a later stage (mediation failed -> arbitration) only the current stage's type".
    LABOUR lists labour_arbitration among its alternatives, so next_lead sees it "in routed" and offers
    the whole routed list again: the arbitration commission's return (code other) hands the dispute
    back to a labour mediation committee although mediation already failed."""
    c = county(svc)
    d = svc.register_dispute(command(body(c["v"], "LABOUR")), CLERK)[1]
    h = lead_of(d)
    svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": "acknowledged"})
    svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": "outcome",
                                           "outcome": {"result": "failed"}})
    assert lead_of(svc.get_dispute(d["id"]))["body_type"] == "labour_arbitration"
    view = _return(svc, d, None)
    assert view["state"] == "needs_supervisor" or lead_of(view)["body_type"] == "labour_arbitration", \
        f"re-offered to {lead_of(view)['agency']} ({lead_of(view)['body_type']})"


def test_route_to_supervisor_after_an_expiry_carries_no_return_code(svc, clock):
    """replace_lead writes `return_code` on every route_to_supervisor, defaulting to "other": a dispute
    that reaches supervisors because its third lead stayed silent (逾期未签收) is recorded as if a
    body had returned it with reason code other."""
    d = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    _return(svc, d, None)
    _return(svc, d, None)
    h = lead_of(svc.get_dispute(d["id"]))
    move_past(clock, h["ack_due"])
    svc.run_due_timers()
    assert svc.get_dispute(d["id"])["state"] == "needs_supervisor"
    routed = events_of(svc, d["id"], "dispute.route_to_supervisor", data_only=True)[-1]
    assert "逾期未签收" in routed["reason"]
    assert "return_code" not in routed, f"an expiry is recorded with return_code={routed['return_code']!r}"
