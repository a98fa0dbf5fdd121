"""The hand-built disputes the report tests count (tests/integration/test_kpis.py works out every
figure of them by hand): ten disputes from October to December 2026, described there."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from router.services import Actor
from tests.builders import at, county, lead_of, register

SUP = Actor("user", "kpi-supervisor", "supervisor")
NOV = (date(2026, 11, 1), date(2026, 11, 30))


def agency(svc, h: dict[str, Any], type_: str, **body: Any) -> None:
    svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": type_, **body})


def agreement(amount: str | None = None, **kw: Any) -> dict[str, Any]:
    a = {"terms": "双方达成协议", **kw}
    if amount:
        a["amount"] = amount
    return {"result": "agreement", "agreement": a}


def lead(svc, d: dict[str, Any]) -> dict[str, Any]:
    return lead_of(svc.get_dispute(d["id"]))


def follow_up(svc, d: dict[str, Any], satisfaction: str) -> None:
    svc.act(d["id"], {"action": "record_follow_up", "reason": "电话回访", "satisfaction": satisfaction}, SUP)


def build(svc, clock) -> dict[str, Any]:
    """Register and play S1-S10; the clock ends on 2026-12-05 10:00."""
    c = county(svc)
    s: dict[str, Any] = {}

    clock.now = at(2026, 10, 8)  # S8 starts in October
    s["S8"] = d = register(svc)
    clock.now = at(2026, 10, 9)
    agency(svc, lead_of(d), "acknowledged")

    clock.now = at(2026, 11, 2)
    s["S1"] = register(svc, risk_flags=["violence_threat"])
    s["S2"] = register(svc, category="CONTRACT")
    s["S9"] = register(svc)
    clock.now = at(2026, 11, 3)
    agency(svc, lead_of(s["S1"]), "acknowledged")
    agency(svc, lead_of(s["S9"]), "acknowledged")
    svc.act(s["S2"]["id"], {"action": "escalate", "reason": "案情复杂，提级办理"}, SUP)
    clock.now = at(2026, 11, 4)
    agency(svc, lead(svc, s["S2"]), "acknowledged")

    clock.now = at(2026, 11, 5)
    s["S3"] = register(svc, category="LABOUR")
    clock.now = at(2026, 11, 6)
    s["S4"] = register(svc)
    agency(svc, lead_of(s["S3"]), "acknowledged")
    clock.now = at(2026, 11, 9)
    s["S5"] = register(svc)
    agency(svc, lead_of(s["S4"]), "acknowledged")
    agency(svc, lead_of(s["S3"]), "outcome", outcome={"result": "failed"})  # -> labour arbitration
    clock.now = at(2026, 11, 10)
    s["S6"] = register(svc)
    agency(svc, lead(svc, s["S3"]), "acknowledged")
    agency(svc, lead_of(s["S5"]), "acknowledged")
    agency(svc, lead_of(s["S1"]), "outcome", outcome=agreement("5000.00"))
    clock.now = at(2026, 11, 11)
    s["S7"] = register(svc)
    agency(svc, lead_of(s["S5"]), "outcome", outcome={"result": "withdrawn"})
    agency(svc, lead_of(s["S6"]), "returned", reason="不属本辖区", basis="人民调解法第17条")
    clock.now = at(2026, 11, 12)
    agency(svc, lead_of(s["S1"]), "closed", fulfilment={"fulfilled_on": "2026-11-12"})
    agency(svc, lead_of(s["S8"]), "outcome", outcome=agreement("800.00"))
    clock.now = at(2026, 11, 13)
    agency(svc, lead_of(s["S8"]), "closed", fulfilment={"fulfilled_on": "2026-11-13"})
    clock.now = at(2026, 11, 15)
    agency(svc, lead(svc, s["S2"]), "outcome", outcome=agreement(judicial_confirmation=True))
    clock.now = at(2026, 11, 16)
    agency(svc, lead_of(s["S4"]), "outcome", outcome={"result": "failed"})
    clock.now = at(2026, 11, 18)
    agency(svc, lead_of(s["S7"]), "acknowledged")  # its ack_due was 11-16
    clock.now = at(2026, 11, 20)
    s["S10"] = register(svc, c["v_other_town"], source="online")
    agency(svc, lead(svc, s["S3"]), "outcome", outcome=agreement("100.00"))
    court = next(h for h in svc.get_dispute(s["S2"]["id"])["handoffs"] if h["role"] == "confirm")
    agency(svc, court, "acknowledged")
    agency(svc, court, "outcome", outcome={"result": "agreement"})
    follow_up(svc, s["S1"], "satisfied")
    clock.now = at(2026, 11, 25)
    agency(svc, lead(svc, s["S3"]), "closed", fulfilment={"fulfilled_on": "2026-11-25"})
    follow_up(svc, s["S8"], "basically_satisfied")
    clock.now = at(2026, 11, 28)
    follow_up(svc, s["S3"], "dissatisfied")
    clock.now = at(2026, 12, 5)
    return s
