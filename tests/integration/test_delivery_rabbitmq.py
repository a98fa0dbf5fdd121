"""Delivery through a real RabbitMQ (127.0.0.1:5672): quorum queues, confirms, acks after commit."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
import pytest
from kombu import Connection

from router.messaging.worker import Background
from router.services import Services
from router.services.context import ServiceContext
from tests.builders import AMQP, CONTRACTS, body, county, handoff_state, wait_for


@pytest.fixture
def amqp_ctx(svc, empty_queues):
    settings = dataclasses.replace(svc.ctx.settings, broker_url=AMQP)
    ctx = ServiceContext(settings, svc.ctx.store, svc.ctx.clock)
    bg = Background(Services(ctx), workers=2).start()
    yield ctx
    bg.close()


def test_delivery_over_rabbitmq(live, svc, stub, amqp_ctx):  # noqa: F811
    d = live.post("/api/v1/disputes", body(county(svc)["v"], "LABOUR", risk_flags=["violence_threat"])).json()
    assert {h["body_type"] for h in d["handoffs"]} == {"labour_mediation", "police"}
    for h in d["handoffs"]:
        got = wait_for(lambda h=h: stub.deliveries(h["agency"]))
        assert got[0].verified and got[0].headers["Idempotency-Key"] == h["id"]
        schema = json.loads((CONTRACTS / f"handoff-{h['body_type']}.schema.json").read_text(encoding="utf-8"))
        jsonschema.validate(got[0].payload, schema, format_checker=jsonschema.FormatChecker())
        wait_for(lambda h=h: handoff_state(svc, h["id"]) == "delivered")


def test_queues_are_quorum_with_a_delivery_limit(amqp_ctx, topology):
    q = topology.handoff_queues()[0]
    assert q.queue_arguments["x-queue-type"] == "quorum"
    assert q.queue_arguments["x-delivery-limit"] == amqp_ctx.settings.delivery_limit
    assert q.queue_arguments["x-dead-letter-exchange"] == f"{topology.prefix}.dlx"
    with Connection(AMQP) as conn:  # declared on the broker with those arguments (passive: must exist)
        assert q(conn.channel()).queue_declare(passive=True).queue == q.name


def test_audit_events_reach_the_events_exchange(live, svc, amqp_ctx, topology):
    from kombu import Queue

    with Connection(AMQP, connect_timeout=5) as conn:
        q = Queue("", topology.events, routing_key="dispute.#", exclusive=True, auto_delete=True)
        bound = q(conn.channel())
        bound.declare()
        sent = body(county(svc)["v"])
        d = live.post("/api/v1/disputes", sent).json()
        seen = []

        def got() -> bool:
            m = bound.get(no_ack=True)
            if m is not None:
                seen.append(m.payload)
            return any(p["type"] == "dispute.hand_off" and p["dispute_id"] == d["id"] for p in seen)

        wait_for(got)
        registered = next(p for p in seen if p["type"] == "dispute.registered")
        assert registered["data"]["reference"] == d["reference"] and len(registered["hash"]) == 64
        assert sent["parties"][0]["id_number"] not in str(seen)  # no personal data on the event bus
