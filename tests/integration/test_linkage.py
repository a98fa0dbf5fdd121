"""联动 mid-case (docs/domain.md §7): the lead asks for an assisting body, an expert opinion (专家库) or
a transfer; config approves assists per body type, supervisors approve or refuse the rest, or add an
assisting body themselves. Assisting handoffs run on their own clocks; the lead's outcome decides."""

from __future__ import annotations

from typing import Any

import pytest

from router.adapters import adapter_for
from router.domain.errors import StateConflict, ValidationError
from router.services import SYSTEM
from router.services.referral import referral_input
from router.store.models import Handoff, Outbox
from tests.builders import SUPERVISOR, events_of, lead_of, register, report


def _ask(svc, d, kind: str, body_type: str | None = None, reason: str = "需要联动") -> dict[str, Any]:
    lead = lead_of(svc.get_dispute(d["id"]))
    report(svc, lead, "link_request", link={"kind": kind, "body_type": body_type, "reason": reason})
    return svc.get_dispute(d["id"])


def _notices(svc, handoff_id: str) -> list[dict[str, Any]]:
    with svc.ctx.store.read() as s:
        return [o.payload for o in s.query(Outbox).filter(Outbox.handoff_id == handoff_id,
                                                          Outbox.kind == "link.decided")]


def test_police_assistance_is_approved_by_config_and_runs_on_its_own_clock(svc):
    d = register(svc)
    lead = lead_of(d)
    view = _ask(svc, d, "assist", "police", "当事人扬言报复，请派出所协助")
    (link,) = view["links"]
    assert link["state"] == "approved" and link["decided_by"] == SYSTEM.id and link["asked_by"] == lead["agency"]
    police = next(h for h in view["handoffs"] if h["id"] == link["result_handoff_id"])
    assert police["role"] == "assist" and police["body_type"] == "police" and police["state"] == "offered"
    assert police["ack_due"] != lead["ack_due"]  # the police's own 24 h clock
    assert view["state"] == "in_handling"  # the request implied the lead's 签收
    (notice,) = _notices(svc, lead["id"])
    assert notice["decision"] == "approved" and notice["link_agency"] == police["agency"]
    types = [e.type for e in events_of(svc, d["id"]) if e.type.startswith("link.")]
    assert types == ["link.request", "link.approve"]


def test_an_expert_opinion_waits_for_a_supervisor_and_the_expert_answers_with_a_opinion(svc):
    d = register(svc)
    view = _ask(svc, d, "expert", reason="工程质量是否达标，请专家出具意见")
    (link,) = view["links"]
    assert link["state"] == "pending" and link["body_type"] == "expert_panel"
    assert len(view["handoffs"]) == 1
    after = svc.act(d["id"], {"action": "approve_link", "link": link["id"], "reason": "同意征询专家意见"}, SUPERVISOR)
    expert = next(h for h in after["handoffs"] if h["body_type"] == "expert_panel")
    with svc.ctx.store.read() as s:
        payload = adapter_for("expert_panel").build(referral_input(svc.ctx, s, s.get(Handoff, expert["id"])))
    assert payload["question"] == "工程质量是否达标，请专家出具意见" and payload["requested"] == "调解意见书"
    assert all(p["id_number"] is None and p["phone"] is None for p in payload["parties"])
    with pytest.raises(ValidationError):  # an expert gives an opinion, not an agreement
        report(svc, expert, "outcome", outcome={"result": "agreement", "agreement": {"terms": "x"}})
    report(svc, expert, "acknowledged")
    report(svc, expert, "outcome", outcome={"result": "opinion", "opinion": "经审查，工程质量符合合同约定标准。"})
    final = svc.get_dispute(d["id"])
    assert final["state"] == "in_handling"  # the lead's outcome still decides
    assert next(h for h in final["handoffs"] if h["id"] == expert["id"])["state"] == "completed"


def test_a_lead_may_not_report_an_opinion(svc):
    d = register(svc)
    lead = lead_of(d)
    report(svc, lead, "acknowledged")
    with pytest.raises(ValidationError) as e:
        report(svc, lead, "outcome", outcome={"result": "opinion", "opinion": "x"})
    assert e.value.field == "outcome.result"


def test_a_suggested_transfer_approved_moves_the_lead(svc):
    d = register(svc, category="PROPERTY_MGMT")
    first = lead_of(d)
    view = _ask(svc, d, "transfer", "people_mediation", "实为邻里纠纷，建议转人民调解委员会")
    (link,) = view["links"]
    assert link["state"] == "pending"
    after = svc.act(d["id"], {"action": "approve_link", "link": link["id"], "reason": "同意转派"}, SUPERVISOR)
    new = lead_of(after)
    assert new["agency"] != first["agency"] and new["body_type"] == "people_mediation"
    assert next(h for h in after["handoffs"] if h["id"] == first["id"])["state"] == "recalled"
    assert after["links"][0]["result_handoff_id"] == new["id"] and after["state"] == "handed_off"


def test_a_refused_request_is_told_to_the_lead_and_changes_nothing_else(svc):
    d = register(svc)
    lead = lead_of(d)
    link = _ask(svc, d, "expert", reason="请专家意见")["links"][0]
    after = svc.act(d["id"], {"action": "refuse_link", "link": link["id"], "reason": "事实清楚，无需专家意见"},
                    SUPERVISOR)
    assert after["links"][0]["state"] == "refused" and len(after["handoffs"]) == 1
    (notice,) = _notices(svc, lead["id"])
    assert notice["decision"] == "refused" and notice["reason"] == "事实清楚，无需专家意见"
    with pytest.raises(StateConflict):  # decided once
        svc.act(d["id"], {"action": "approve_link", "link": link["id"], "reason": "改为同意"}, SUPERVISOR)


def test_requests_are_checked(svc):
    d = register(svc)
    lead = lead_of(d)
    with pytest.raises(ValidationError):
        report(svc, lead, "link_request")  # no link
    with pytest.raises(ValidationError):
        report(svc, lead, "link_request", link={"kind": "assist", "body_type": "court", "reason": "x"})
    with pytest.raises(ValidationError):
        report(svc, lead, "link_request", link={"kind": "transfer", "body_type": "expert_panel", "reason": "x"})
    with pytest.raises(ValidationError):
        report(svc, lead, "link_request", link={"kind": "expert", "body_type": "police", "reason": "x"})
    assert svc.get_dispute(d["id"])["links"] == []
    _ask(svc, d, "expert")
    with pytest.raises(StateConflict):  # the same request twice while it waits
        _ask(svc, d, "expert")
    with pytest.raises(ValidationError):
        svc.act(d["id"], {"action": "approve_link", "link": "nope", "reason": "x"}, SUPERVISOR)


def test_a_supervisor_adds_an_assisting_body(svc):
    d = register(svc)
    view = svc.act(d["id"], {"action": "add_assist", "body_type": "legal_aid", "reason": "申请人经济困难"}, SUPERVISOR)
    (link,) = view["links"]
    assert link["state"] == "approved" and link["asked_by"] == SUPERVISOR.id and link["handoff_id"] is None
    aid = next(h for h in view["handoffs"] if h["id"] == link["result_handoff_id"])
    assert aid["body_type"] == "legal_aid" and aid["role"] == "assist"
    with pytest.raises(ValidationError):
        svc.act(d["id"], {"action": "add_assist", "reason": "x"}, SUPERVISOR)
    with pytest.raises(ValidationError):
        svc.act(d["id"], {"action": "add_assist", "body_type": "court", "reason": "x"}, SUPERVISOR)


def test_waiting_requests_are_withdrawn_when_the_asker_ends_or_the_dispute_closes(svc):
    d = register(svc)
    link = _ask(svc, d, "expert")["links"][0]
    svc.act(d["id"], {"action": "close", "reason": "当事人自行和解"}, SUPERVISOR)
    assert svc.get_dispute(d["id"])["links"][0]["state"] == "withdrawn"
    with pytest.raises(StateConflict):
        svc.act(d["id"], {"action": "approve_link", "link": link["id"], "reason": "x"}, SUPERVISOR)
    d2 = register(svc)
    _ask(svc, d2, "transfer", "people_mediation")
    svc.act(d2["id"], {"action": "reroute", "reason": "改派"}, SUPERVISOR)  # the asking lead is recalled
    assert svc.get_dispute(d2["id"])["links"][0]["state"] == "withdrawn"
    assert svc.verify_chain()["ok"]


def test_surplus_link_fields_and_naming_the_holder_are_refused(svc):
    d = register(svc)
    lead = lead_of(d)
    with pytest.raises(ValidationError):
        report(svc, lead, "acknowledged", link={"kind": "expert", "reason": "x"})
    with pytest.raises(StateConflict):
        svc.act(d["id"], {"action": "add_assist", "agency": lead["agency"], "reason": "x"}, SUPERVISOR)
    report(svc, lead, "acknowledged")
    with pytest.raises(ValidationError):
        report(svc, lead, "outcome", outcome={"result": "failed", "opinion": "专家意见"})
