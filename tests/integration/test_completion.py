"""补正 (docs/domain.md §7): a lead's return as incomplete (材料不全) sends the dispute back to the window,
not to another body nor to the supervisors; the clerk's completion is appended to the summary and
the same body is offered the dispute again, as a new placement with its own clock."""

from __future__ import annotations

import uuid

import pytest

from router.domain.errors import StateConflict, ValidationError
from router.store.models import Agency
from tests.builders import CLERK, SUPERVISOR, events_of, lead_of, register


def _return_incomplete(svc, d, reason="缺少欠条复印件和工资流水"):
    h = lead_of(svc.get_dispute(d["id"]))
    svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": "returned", "reason": reason,
                                            "basis": "人民调解工作若干规定第23条", "reason_code": "incomplete"})
    return h, svc.get_dispute(d["id"])


def test_incomplete_goes_back_to_the_window_and_the_completion_offers_the_same_body_again(svc, clock):
    d = register(svc)
    first, view = _return_incomplete(svc, d)
    assert view["state"] == "awaiting_completion"
    ev = events_of(svc, d["id"], "dispute.request_completion", data_only=True)[0]
    assert ev["return_code"] == "incomplete" and ev["agency"] == first["agency"]
    queue = svc.completion_queue()
    assert [(q["id"], q["reason"]) for q in queue] == [(d["id"], "缺少欠条复印件和工资流水")]
    clock.advance(days=1)
    after = svc.complete_registration(d["id"], "已补交欠条复印件", CLERK)
    again = lead_of(after)
    assert after["state"] == "handed_off" and again["agency"] == first["agency"] and again["id"] != first["id"]
    assert again["ack_due"] > first["ack_due"]  # a new clock from the re-offer
    assert after["summary"].endswith("【2026-11-24补正】已补交欠条复印件")
    assert svc.completion_queue() == []
    types = [e.type for e in events_of(svc, d["id"]) if e.type.startswith("dispute.")]
    assert types[-3:] == ["dispute.request_completion", "dispute.complete_intake", "dispute.hand_off"]
    assert svc.verify_chain()["ok"]


def test_completion_needs_a_note_and_the_state(svc):
    d = register(svc)
    with pytest.raises(StateConflict):
        svc.complete_registration(d["id"], "补交材料", CLERK)  # nothing was returned
    _return_incomplete(svc, d)
    with pytest.raises(ValidationError) as e:
        svc.complete_registration(d["id"], "   ", CLERK)
    assert e.value.field == "note"
    svc.complete_registration(d["id"], "补交材料", CLERK)
    with pytest.raises(StateConflict):  # completed once: the second is refused, nothing offered twice
        svc.complete_registration(d["id"], "补交材料", CLERK)
    assert len([h for h in svc.get_dispute(d["id"])["handoffs"] if h["role"] == "lead"]) == 2


def test_a_supervisor_may_send_it_elsewhere_while_it_waits(svc):
    d = register(svc)
    first, _ = _return_incomplete(svc, d)
    view = svc.act(d["id"], {"action": "reroute", "reason": "改由镇调委办理"}, SUPERVISOR)
    assert view["state"] == "handed_off" and lead_of(view)["agency"] != first["agency"]


def test_the_body_gone_meanwhile_the_next_candidate_gets_it(svc):
    d = register(svc)
    first, _ = _return_incomplete(svc, d)
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.get(Agency, first["agency"]).active = False
    svc.ctx.invalidate_registry()
    try:
        view = svc.complete_registration(d["id"], "补交材料", CLERK)
        leads = [h for h in view["handoffs"] if h["role"] == "lead"]
        assert view["state"] == "handed_off" and leads[-1]["agency"] != first["agency"] and len(leads) == 2
    finally:
        with svc.ctx.store.unit_of_work() as uow:
            uow.session.get(Agency, first["agency"]).active = True
        svc.ctx.invalidate_registry()


def test_a_body_returning_it_as_incomplete_again_and_again_goes_to_the_supervisors(svc):
    d = register(svc)
    for _ in range(svc.ctx.config.bodies.max_placements - 1):
        _return_incomplete(svc, d)
        svc.complete_registration(d["id"], "补交材料", CLERK)
    _, view = _return_incomplete(svc, d)
    assert view["state"] == "needs_supervisor"  # the third failed placement: no more 补正 ping-pong
