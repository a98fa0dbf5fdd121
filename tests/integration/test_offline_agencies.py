"""Agencies without a system (docs/agency-guide.md §1): a pull agency fetches its handoffs, a paper
agency gets a printed 委托函 whose hand-over a clerk records. Neither is ever pushed to, so a
handoff to one is never undeliverable for the lack of an endpoint, designated or not."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from router.domain.errors import ConfigError, StateConflict, ValidationError
from router.messaging.worker import DeliveryWorker
from router.services import Actor
from router.settings import load_agencies
from router.store.models import Agency, Delivery
from tests.builders import events_of, lead_of, move_past, register

SUP = Actor("user", "offline-supervisor", "supervisor")
CLERK = Actor("user", "offline-clerk", "clerk")


def _designated(svc, d: dict[str, Any], code: str) -> dict[str, Any]:
    svc.act(d["id"], {"action": "designate", "agency": code, "reason": "指定无系统单位"}, SUP)
    return lead_of(svc.get_dispute(d["id"]))


def _deliveries(svc, handoff_id: str) -> list[Delivery]:
    with svc.ctx.store.read() as s:
        return list(s.scalars(select(Delivery).where(Delivery.handoff_id == handoff_id)))


def test_a_pull_agency_is_never_pushed_to_and_its_fetch_is_the_delivery(svc, clock, offline):
    d = register(svc)
    code = offline("pull", d)
    h = _designated(svc, d, code)
    assert h["agency"] == code and h["state"] == "offered"
    [held] = _deliveries(svc, h["id"])
    assert held.state == "held"
    assert held.id not in [i for i, _ in svc.deliveries_due()]  # the sweeper never hands it to a worker
    clock.advance(minutes=30)
    assert lead_of(svc.get_dispute(d["id"]))["state"] == "offered"  # not undeliverable, still designated
    answer = svc.agency_handoff(code, h["id"])
    assert answer["referral"]["parties"][0]["name"] and answer["state"] == "delivered"
    assert _deliveries(svc, h["id"])[0].state == "succeeded"
    [delivered] = events_of(svc, d["id"], "handoff.deliver", data_only=True)[-1:]
    assert delivered["via"] == "agency_pull"
    svc.agency_handoff(code, h["id"])  # a second fetch delivers nothing twice
    assert [e["agency"] for e in events_of(svc, d["id"], "handoff.deliver", data_only=True)].count(code) == 1
    svc.agency_event(code, h["id"], {"event_id": uuid.uuid4().hex, "type": "acknowledged"})
    assert lead_of(svc.get_dispute(d["id"]))["state"] == "acknowledged"


def test_a_paper_agency_gets_a_letter_and_the_clerk_records_the_hand_over(svc, clock, offline):
    d = register(svc)
    code = offline("paper", d)
    h = _designated(svc, d, code)
    assert _deliveries(svc, h["id"])[0].state == "held"
    letter = svc.paper_letter(d["id"], h["id"], CLERK)
    assert letter["reference"] == d["reference"] and letter["agency"]["code"] == code
    assert any(p.get("phone") for p in letter["referral"]["parties"])  # unmasked: the agency needs them
    revealed = events_of(svc, d["id"], "pii.revealed", data_only=True)
    assert revealed and revealed[-1]["via"] == "paper_letter"
    with pytest.raises(ValidationError) as e:
        svc.record_paper_handover(d["id"], h["id"], "  ", None, CLERK)
    assert e.value.field == "received_by"
    with pytest.raises(ValidationError) as e:
        svc.record_paper_handover(d["id"], h["id"], "李四", clock() + timedelta(hours=1), CLERK)
    assert e.value.field == "received_at"
    assert lead_of(svc.get_dispute(d["id"]))["state"] == "offered"  # refused: nothing changed
    with pytest.raises(ValidationError) as e:  # before the handoff existed
        svc.record_paper_handover(d["id"], h["id"], "李四", clock() - timedelta(days=1), CLERK)
    assert e.value.field == "received_at"
    clock.advance(minutes=40)
    when = clock() - timedelta(minutes=20)
    view = svc.record_paper_handover(d["id"], h["id"], "李四（调委会主任）", when, CLERK)
    assert lead_of(view)["state"] == "delivered"
    data = events_of(svc, d["id"], "handoff.deliver", data_only=True)[-1]
    assert (data["via"], data["received_by"], data["recorded_by"]) == ("paper", "李四（调委会主任）", CLERK.id)
    assert _deliveries(svc, h["id"])[0].state == "succeeded"
    with pytest.raises(StateConflict):
        svc.record_paper_handover(d["id"], h["id"], "李四", None, CLERK)


def test_a_paper_hand_over_is_refused_for_an_agency_that_is_not_on_paper(svc, clock, offline):
    d = register(svc)
    code = offline("pull", d)
    h = _designated(svc, d, code)
    with pytest.raises(StateConflict):
        svc.record_paper_handover(d["id"], h["id"], "李四", None, CLERK)
    with pytest.raises(StateConflict):
        svc.paper_letter(d["id"], h["id"], CLERK)


def test_agency_add_needs_an_endpoint_only_to_push(svc):
    with pytest.raises(ValidationError) as e:
        svc.add_agency(f"T-X-{uuid.uuid4().hex[:8]}", "无地址", "people_mediation", "town",
                       svc.ctx.config.divisions.centre.code, None, 0, "push")
    assert e.value.field == "endpoint"
    with pytest.raises(ValidationError) as e:
        svc.add_agency(f"T-X-{uuid.uuid4().hex[:8]}", "错方式", "people_mediation", "town",
                       svc.ctx.config.divisions.centre.code, None, 0, "fax")
    assert e.value.field == "delivery"


def _yaml_agency(**kw: Any) -> dict[str, Any]:
    return {"agencies": [{"code": "Y-1", "name": "甲", "body_type": "people_mediation", "tier": "town",
                          "jurisdiction": ["330681000000"], **kw}]}


def test_agencies_yaml_delivery_modes(svc):
    tree = svc.ctx.config.divisions
    code = tree.centre.code
    [pulled] = load_agencies(_yaml_agency(jurisdiction=[code]), tree)
    assert pulled.delivery == "pull"  # no endpoint: it pulls
    [pushed] = load_agencies(_yaml_agency(jurisdiction=[code], endpoint="https://x.example/h"), tree)
    assert pushed.delivery == "push"
    [paper] = load_agencies(_yaml_agency(jurisdiction=[code], delivery="paper"), tree)
    assert paper.delivery == "paper"
    with pytest.raises(ConfigError, match="delivery"):
        load_agencies(_yaml_agency(jurisdiction=[code], delivery="fax"), tree)
    with pytest.raises(ConfigError, match="endpoint"):
        load_agencies(_yaml_agency(jurisdiction=[code], delivery="push"), tree)


# ------------------------------------------------------------- found by the issue-11 review
def test_a_pull_agency_following_the_contract_sees_what_is_waiting_for_it(svc, clock, offline):
    """API.md "Agencies": `GET /api/v1/agency/handoffs?state=delivered` is "pull: what is waiting for this
    agency" (README and agency-guide examples use state="delivered"). A pull agency's handoff stays
    `offered` until it is fetched by id, so the contract's pull call never lists it: the agency cannot
    learn the id, and the handoff expires."""
    d = register(svc)
    code = offline("pull", d)
    h = _designated(svc, d, code)
    waiting = svc.agency_handoffs(code, "delivered", 1, 50)["items"]
    assert h["id"] in [x["id"] for x in waiting]


def test_the_letter_is_not_printed_for_a_handoff_that_was_taken_back(svc, clock, offline):
    """paper_letter (router/services/handover.py) reveals the parties unmasked for a handoff in any
    state; the agency's own GET withholds the referral once the handoff ended (ENDED) or the file is
    sealed. A recalled paper handoff's letter still prints, with ID numbers and phones, and is audited
    as a reveal to an agency that no longer holds the case."""
    d = register(svc)
    code = offline("paper", d)
    h = _designated(svc, d, code)
    svc.act(d["id"], {"action": "reroute", "reason": "改派他处"}, SUP)  # recalls the paper handoff
    assert [x for x in svc.get_dispute(d["id"])["handoffs"] if x["id"] == h["id"]][0]["state"] == "recalled"
    with pytest.raises(StateConflict):
        svc.paper_letter(d["id"], h["id"], CLERK)


def test_a_paper_hand_over_before_the_handoff_existed_is_refused(svc, clock, offline):
    """record_paper_handover only refuses a received_at in the future; a letter "received" a day
    before the handoff was even offered (so before the letter could be printed) is accepted and goes
    on the audit trail as the delivery time."""
    d = register(svc)
    code = offline("paper", d)
    h = _designated(svc, d, code)
    with pytest.raises(ValidationError) as e:
        svc.record_paper_handover(d["id"], h["id"], "李四", clock() - timedelta(days=1), CLERK)
    assert e.value.field == "received_at"


def test_a_designated_paper_handoff_handed_over_on_paper_is_not_lost_for_lack_of_a_system(svc, clock, offline):
    """docs/agency-guide.md §1: "签收 (or 退回) by then, through the API or by the clerk on your behalf
    later ... a designation (指定) to one stands". A paper agency has no system, and there is no staff
    path to record its 签收: every paper handoff, designated or not, expires at ack_due after the
    letter was handed over and the dispute moves on."""
    d = register(svc)
    code = offline("paper", d)
    h = _designated(svc, d, code)
    svc.record_paper_handover(d["id"], h["id"], "李四", None, CLERK, acknowledged=True)  # signed for it
    move_past(clock, h["ack_due"])
    svc.run_due_timers()
    now = [x for x in svc.get_dispute(d["id"])["handoffs"] if x["id"] == h["id"]][0]
    assert now["state"] != "expired", "the paper agency had no way to 签收; its designated handoff expired"


def test_an_agency_switched_to_pull_is_not_made_undeliverable_by_its_pending_delivery(svc, clock, offline):
    """A delivery's mode is fixed when the row is written (uow.add_message). When an agency becomes
    `delivery: pull` (agencies.yaml + init-db, or the 0009 migration of an endpoint-less agency) its
    already-pending deliveries are still claimed (delivery.claim does not look at Agency.delivery):
    with no endpoint the worker reports "final", and the handoff becomes undeliverable, which
    API.md says never happens to a pull agency for the lack of an endpoint."""
    d = register(svc)
    code = offline("push", d)
    h = _designated(svc, d, code)
    [pending] = _deliveries(svc, h["id"])
    assert pending.state == "pending"
    with svc.ctx.store.unit_of_work() as uow:  # what sync_agencies writes for `delivery: pull`, no endpoint
        uow.session.execute(update(Agency).where(Agency.code == code).values(delivery="pull", endpoint=None))
    svc.ctx.invalidate_registry()
    DeliveryWorker(svc).handle(pending.id)
    now = [x for x in svc.get_dispute(d["id"])["handoffs"] if x["id"] == h["id"]][0]
    assert now["state"] == "offered", f"a pull agency's handoff became {now['state']}"


@pytest.mark.parametrize("how", ["recalled", "expired"])
def test_a_held_delivery_of_a_handoff_that_ended_does_not_stay_held(svc, clock, offline, how):
    """A push delivery of a handoff recalled or expired before it went out ends `cancelled`
    (delivery.claim). A held one is only ever finished by handed_over; once the handoff is recalled or
    expires it stays `held` forever, looking like work still waiting for the agency."""
    d = register(svc)
    code = offline("paper", d)
    h = _designated(svc, d, code)
    if how == "recalled":
        svc.act(d["id"], {"action": "reroute", "reason": "改派他处"}, SUP)
    else:
        move_past(clock, h["ack_due"])
        svc.run_due_timers()
    assert [x for x in svc.get_dispute(d["id"])["handoffs"] if x["id"] == h["id"]][0]["state"] == how
    states = [x.state for x in _deliveries(svc, h["id"]) if x.kind == "handoff.offered"]
    assert "held" not in states, f"the {how} handoff's delivery is still {states}"
