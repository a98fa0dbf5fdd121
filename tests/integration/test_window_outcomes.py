"""不予受理 and 当场化解 at intake (docs/domain.md §10): decided at the window, nothing dispatched; the
first ends the dispute with a reason code, its basis and where to go, the second is an agreement
resolved at the window's tier that goes through fulfilment and the follow-up visit like any other."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from router.domain.errors import ValidationError
from router.services.views import DisputeFilter
from router.store.models import Delivery
from tests.builders import CLERK, SUPERVISOR, body, command, county, events_of, register


def _kpis(svc, day: date) -> dict[str, dict]:
    return {k["code"]: k for k in svc.kpi_report({"from_": day, "to": day})["kpis"]}


def _deliveries(svc) -> int:
    with svc.ctx.store.read() as s:
        return s.query(Delivery).count()


def test_not_accepted_ends_at_intake_with_the_code_basis_and_where_to_go(svc, clock):
    d = register(svc, disposition={"type": "not_accepted", "reason_code": "in_litigation"})
    assert d["state"] == "not_accepted" and d["handoffs"] == [] and d["routing"] is None
    c = d["closure"]
    assert c["code"] == "not_accepted" and c["reason_code"] == "in_litigation"
    assert c["basis"].startswith("《人民调解工作若干规定》第二十二条") and "人民法院" in c["refer_to"]
    ev = events_of(svc, d["id"], "dispute.not_accept", data_only=True)
    assert len(ev) == 1 and ev[0]["reason_code"] == "in_litigation" and ev[0]["refer_to"] == c["refer_to"]
    assert _deliveries(svc) == 0
    k = _kpis(svc, date(2026, 11, 23))
    assert k["received"]["value"] == 1 and k["concluded"]["value"] == 0  # ended, not concluded
    with pytest.raises(Exception, match="不予受理|not_accepted|state"):
        svc.act(d["id"], {"action": "reroute", "reason": "改派"}, SUPERVISOR)


def test_not_accepted_for_other_needs_the_reason_and_where_to_go(svc):
    with pytest.raises(ValidationError) as e:
        register(svc, disposition={"type": "not_accepted", "reason_code": "other"})
    assert set(e.value.fields) == {"disposition.reason", "disposition.refer_to"}
    with pytest.raises(ValidationError) as e:
        register(svc, disposition={"type": "not_accepted"})
    assert set(e.value.fields) == {"disposition.reason_code"}
    d = register(svc, disposition={"type": "not_accepted", "reason_code": "other", "reason": "属行政复议事项",
                                   "refer_to": "诸暨市人民政府行政复议机构"})
    assert d["closure"]["refer_to"] == "诸暨市人民政府行政复议机构" and d["closure"]["reason"] == "属行政复议事项"


def test_resolved_on_spot_is_an_agreement_at_the_windows_tier_and_is_followed_up(svc, clock):
    fulfil_by = (clock.now + timedelta(days=10)).date()
    d = register(svc, disposition={"type": "resolved_on_spot", "terms": "被申请人当场道歉并赔偿500元",
                                   "amount": "500.00", "fulfil_by": fulfil_by.isoformat()})
    assert d["state"] == "fulfilling" and d["handoffs"] == [] and d["tier"] == "village"
    o = d["outcome"]
    assert o["result"] == "agreement" and o["on_spot"] is True and o["agreement"]["terms"].startswith("被申请人")
    assert [e.type for e in events_of(svc, d["id"])] == ["dispute.registered", "dispute.resolve_on_spot",
                                                         "dispute.start_fulfilment"]
    k = _kpis(svc, date(2026, 11, 23))
    assert (k["success_rate"]["numerator"], k["success_rate"]["denominator"]) == (1, 1)
    assert k["local_resolution_rate"]["numerator"] == 1 and k["amount_resolved"]["value"] == "500.00"
    # then as after any agreement: fulfilment, the follow-up visit, closure
    svc.act(d["id"], {"action": "record_fulfilment", "reason": "已付清"}, SUPERVISOR)
    after = svc.act(d["id"], {"action": "record_follow_up", "reason": "电话回访", "satisfaction": "satisfied"},
                    SUPERVISOR)
    assert after["state"] == "closed" and after["closure"]["code"] == "followed_up"
    assert _deliveries(svc) == 0


def test_performed_at_the_window_goes_straight_to_the_follow_up(svc, clock):
    d = register(svc, disposition={"type": "resolved_on_spot", "terms": "当场归还借用的农具", "fulfilled": True})
    assert d["state"] == "follow_up" and d["outcome"]["fulfilment"]["fulfilled_on"] == "2026-11-23"


@pytest.mark.parametrize(("disposition", "fields"), [
    ({"type": "resolved_on_spot"}, {"disposition.terms"}),
    ({"type": "resolved_on_spot", "terms": "x", "fulfil_by": "2026-11-01"}, {"disposition.fulfil_by"}),
    ({"type": "resolved_on_spot", "terms": "x", "reason_code": "criminal"}, {"disposition.reason_code"}),
    ({"type": "not_accepted", "reason_code": "criminal", "terms": "x"}, {"disposition.terms"}),
])
def test_an_inconsistent_disposition_names_its_field_and_stores_nothing(svc, disposition, fields):
    with pytest.raises(ValidationError) as e:
        register(svc, disposition=disposition)
    assert set(e.value.fields) == fields
    assert svc.list_disputes(DisputeFilter())["total"] == 0


def test_the_same_applicant_settled_at_the_window_is_not_held_as_a_repeat(svc):
    first_body = body(county(svc)["v"])
    first = svc.register_dispute(command(first_body), CLERK)[1]
    again = {**first_body, "disposition": {"type": "resolved_on_spot", "terms": "当场和解"}}
    d = svc.register_dispute(command(again), CLERK)[1]
    assert d["state"] == "fulfilling" and d["duplicate_of"]["id"] == first["id"]
