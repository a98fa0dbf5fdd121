"""Defects found on the way, after the outcome: an agreement that asks for judicial confirmation
where no court covers the division is still an agreement (the report is taken, the agreement is
performed as it stands); a stopped handling clock is not overdue in `?overdue=true`."""

from __future__ import annotations

from sqlalchemy import update

from router.store.models import Agency
from tests.builders import events_of, lead_of, move_past, post_dispute, view_of


def test_an_agreement_asking_for_confirmation_without_a_court_is_recorded_and_performed(live, svc, agencies, clock):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    with svc.ctx.store.unit_of_work() as uow:  # no court anywhere: the centre's registry lacks one
        uow.session.execute(update(Agency).where(Agency.body_type == "court").values(active=False))
    svc.ctx.invalidate_registry()
    try:
        outcome = {"result": "agreement", "agreement": {"terms": "赔偿500元", "amount": "500.00",
                                                        "fulfil_by": "2026-12-31", "judicial_confirmation": True}}
        r = agencies(lead["agency"]).event(lead["id"], "outcome", outcome=outcome)
        assert r.status_code == 200, r.text
        after = view_of(live, d)
        assert after["state"] == "fulfilling"
        assert after["outcome"]["confirmation"]["confirmed"] is False
        assert "法院" in after["outcome"]["confirmation"]["reason"]
        assert [e.data.get("note") for e in events_of(svc, d["id"], "dispute.start_fulfilment")][0]
    finally:
        with svc.ctx.store.unit_of_work() as uow:
            uow.session.execute(update(Agency).where(Agency.body_type == "court").values(active=True))
        svc.ctx.invalidate_registry()


def test_a_stopped_clock_is_not_listed_as_overdue(live, svc, agencies, clock):
    d = post_dispute(live, svc, category="MEDICAL")
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    r = a.event(lead["id"], "progress", suspension={"action": "start", "reason": "医疗损害鉴定"})
    assert r.status_code == 200, r.text
    move_past(clock, lead_of(view_of(live, d))["handle_due"])
    assert lead_of(view_of(live, d))["sla"] != "overdue"
    overdue = {x["id"] for x in live.get("/api/v1/disputes?overdue=true").json()["items"]}
    not_overdue = {x["id"] for x in live.get("/api/v1/disputes?overdue=false").json()["items"]}
    assert d["id"] not in overdue and d["id"] in not_overdue
