"""Agencies without a system (docs/agency-guide.md §1): a pull agency fetches its handoffs, a paper
agency gets a printed 委托函 whose hand-over a clerk records. Neither is ever pushed to, so a
handoff to one is never undeliverable for the lack of an endpoint, designated or not."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from router.domain.errors import ConfigError, StateConflict, ValidationError
from router.services import Actor
from router.settings import load_agencies
from router.store.models import Delivery
from tests.builders import events_of, lead_of, register

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
