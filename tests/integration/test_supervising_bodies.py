"""Supervising bodies (docs/domain.md §6): 督办 of a mediation committee is also told to the body that
supervises it (agencies.yaml `supervised_by`: the town's 司法所 for a village committee, the 司法局 for
a town one), through that body's adapter, signed like every notice."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import jsonschema
import pytest

from router.domain.errors import ConfigError
from router.messaging.worker import DeliveryWorker
from router.settings import load_agencies
from router.store.models import Agency, Delivery
from tests.builders import CONTRACTS, SUPERVISOR, events_of, lead_of, register


def _escalated(svc, clock) -> tuple[dict, dict]:
    d = register(svc)
    lead = lead_of(d)
    svc.agency_event(lead["agency"], lead["id"], {"event_id": uuid.uuid4().hex, "type": "acknowledged"})
    due = lead_of(svc.get_dispute(d["id"]))["handle_due"]
    clock.now = datetime.fromisoformat(due) + timedelta(days=10)  # past 督办 (5 working days after)
    svc.run_due_timers()
    return d, lead


def test_escalation_is_copied_to_the_supervising_justice_office_signed(svc, clock, stub):
    d, lead = _escalated(svc, clock)
    with svc.ctx.store.read() as s:
        boss = s.get(Agency, lead["agency"]).supervised_by
        rows = s.query(Delivery).filter(Delivery.kind == "handoff.supervised").all()
    assert boss and boss.startswith("ZJ-SFS-") and [r.agency_code for r in rows] == [boss]
    told = events_of(svc, d["id"], "handoff.supervisor_told", data_only=True)
    assert told[0]["supervised_by"] == boss and told[0]["agency"] == lead["agency"]
    worker = DeliveryWorker(svc)
    for delivery_id, _ in svc.deliveries_due():
        worker.handle(delivery_id)
    (got,) = stub.deliveries(boss)
    assert got.verified and got.payload["kind"] == "supervision" and got.payload["reference"] == d["reference"]
    schema = json.loads((CONTRACTS / "supervision-notice.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(got.payload, schema, format_checker=jsonschema.FormatChecker())


def test_a_plain_urge_is_not_copied(svc, clock):
    d = register(svc)
    svc.act(d["id"], {"action": "urge", "reason": "请尽快签收"}, SUPERVISOR)
    with svc.ctx.store.read() as s:
        assert s.query(Delivery).filter(Delivery.kind == "handoff.supervised").count() == 0


def test_supervised_by_must_name_another_agency(svc):
    tree = svc.ctx.config.divisions
    a = {"code": "Y-1", "name": "甲", "body_type": "people_mediation", "tier": "town", "delivery": "pull",
         "jurisdiction": [tree.centre.code]}
    with pytest.raises(ConfigError, match="supervised_by"):
        load_agencies({"agencies": [{**a, "supervised_by": "NOPE"}]}, tree)
    with pytest.raises(ConfigError, match="supervised_by"):
        load_agencies({"agencies": [{**a, "supervised_by": "Y-1"}]}, tree)
