"""Exchanges and queues (docs/architecture.md §5), named under one prefix per instance.

- `<prefix>.handoffs` (direct, durable): routed by body type to one durable queue per body type.
  On RabbitMQ the queues are quorum queues with `x-delivery-limit` (3.10 sets none by default)
  and dead-letter to `<prefix>.dlx` -> `<prefix>.dead`, so a message that keeps killing workers stops.
- `<prefix>.events` (topic, durable): every audit event, routing key = event type, for outside
  subscribers (data warehouse, dashboards).

The prefix (ROUTER_BROKER_PREFIX, default `router`) lets several instances share one broker
without taking each other's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from kombu import Connection, Exchange, Queue

from router.adapters import all_body_types


def is_amqp(url: str) -> bool:
    return url.startswith(("amqp", "pyamqp"))


@dataclass(frozen=True)
class Topology:
    prefix: str = "router"
    amqp: bool = False
    delivery_limit: int = 10

    @classmethod
    def for_settings(cls, settings: object) -> Topology:
        return cls(getattr(settings, "broker_prefix", "router"), is_amqp(settings.broker_url),  # type: ignore[attr-defined]
                   settings.delivery_limit)  # type: ignore[attr-defined]

    @cached_property
    def handoffs(self) -> Exchange:
        return Exchange(f"{self.prefix}.handoffs", "direct", durable=True)

    @cached_property
    def events(self) -> Exchange:
        return Exchange(f"{self.prefix}.events", "topic", durable=True)

    @cached_property
    def dlx(self) -> Exchange:
        return Exchange(f"{self.prefix}.dlx", "fanout", durable=True)

    @cached_property
    def dead(self) -> Queue:
        return Queue(f"{self.prefix}.dead", self.dlx, durable=True)

    def handoff_queue(self, body_type: str) -> Queue:
        args = {"x-queue-type": "quorum", "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": self.dlx.name} if self.amqp else None
        return Queue(f"{self.prefix}.handoffs.{body_type}", self.handoffs, routing_key=body_type, durable=True,
                     queue_arguments=args)

    def handoff_queues(self) -> list[Queue]:
        return [self.handoff_queue(b) for b in all_body_types()]

    def declare(self, conn: Connection) -> None:
        ch = conn.default_channel
        for ex in (self.handoffs, self.events, self.dlx):
            ex(ch).declare()
        for q in [self.dead, *self.handoff_queues()]:
            q(ch).declare()


def connect(broker_url: str) -> Connection:
    # kombu's virtual transports poll, once a second by default: far too slow for a handoff.
    opts = {"confirm_publish": True} if is_amqp(broker_url) else {"polling_interval": 0.02}
    return Connection(broker_url, transport_options=opts, connect_timeout=10, heartbeat=0)
