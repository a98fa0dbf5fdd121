"""The relay's broker side: an outbox message onto its exchange (services/outbox.py holds the
transaction). A delivery goes to `<prefix>.handoffs` by body type; every audit event and notice is
announced on `<prefix>.events` by its type, for outside subscribers."""

from __future__ import annotations

from typing import Any

from kombu import Producer

from router.messaging.topology import Topology
from router.services.outbox import Message
from router.store.uow import ANNOUNCE


def publisher(producer: Producer, topology: Topology) -> Any:
    def publish(m: Message) -> None:
        if m.delivery_id is not None:
            body: dict[str, Any] = {"delivery_id": m.delivery_id, "handoff_id": m.handoff_id, "kind": m.kind}
            producer.publish(body, exchange=topology.handoffs, routing_key=m.routing_key, serializer="json",
                             delivery_mode=2, retry=True, retry_policy={"max_retries": 3})
        elif m.kind == ANNOUNCE:  # a transaction's audit events: one message each, by event type
            for e in m.payload["events"]:
                announce({"kind": "event", **e}, e["type"])
        else:
            announce({"kind": m.kind, **m.payload}, m.routing_key)

    def announce(body: dict[str, Any], routing_key: str) -> None:
        producer.publish(body, exchange=topology.events, routing_key=routing_key, serializer="json",
                         delivery_mode=2, retry=True, retry_policy={"max_retries": 3})

    return publish
