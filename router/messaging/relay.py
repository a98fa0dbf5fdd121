"""The outbox relay: committed outbox rows -> broker, then marked published.

A crash between publish and mark re-publishes the row; consumers are idempotent on the delivery
(a lease can be taken once), so a repeat costs nothing. Several relays may run on PostgreSQL:
each takes rows with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from kombu import Producer
from sqlalchemy import select, update

from router.messaging.topology import Topology
from router.services.context import ServiceContext
from router.store.models import Delivery, Outbox

log = logging.getLogger(__name__)
PAUSE_BEFORE_MARK = float(os.environ.get("ROUTER_FAULT_RELAY_PAUSE_BEFORE_MARK", "0") or 0)


def relay_once(ctx: ServiceContext, producer: Producer, batch: int = 200) -> int:
    """Publish up to `batch` unpublished rows; returns how many were published."""
    now = ctx.now()
    with ctx.store.unit_of_work() as uow:
        s = uow.session
        q = select(Outbox).where(Outbox.published_at.is_(None)).order_by(Outbox.seq).limit(batch)
        if not ctx.settings.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        rows = s.scalars(q).all()
        if not rows:
            return 0
        deliveries = {d.outbox_id: d for d in s.scalars(select(Delivery).where(
            Delivery.outbox_id.in_([r.id for r in rows])))}
        topology = Topology.for_settings(ctx.settings)
        for r in rows:
            publish(producer, topology, r, deliveries.get(r.id))
            r.attempts += 1
        if PAUSE_BEFORE_MARK:  # fault injection for the crash tests: widen the publish-then-mark window
            time.sleep(PAUSE_BEFORE_MARK)
        ids = [r.id for r in rows]
        s.execute(update(Outbox).where(Outbox.id.in_(ids)).values(published_at=now)
                  .execution_options(synchronize_session=False))
        s.execute(update(Delivery).where(Delivery.outbox_id.in_(ids), Delivery.enqueued_at.is_(None))
                  .values(enqueued_at=now).execution_options(synchronize_session=False))
        return len(rows)


def publish(producer: Producer, topology: Topology, row: Outbox, delivery: Delivery | None) -> None:
    if delivery is not None:
        body: dict[str, Any] = {"delivery_id": delivery.id, "handoff_id": row.handoff_id, "kind": row.kind}
        producer.publish(body, exchange=topology.handoffs, routing_key=row.routing_key, serializer="json",
                         delivery_mode=2, retry=True, retry_policy={"max_retries": 3})
    else:
        producer.publish({"kind": row.kind, **row.payload}, exchange=topology.events, routing_key=row.routing_key,
                         serializer="json", delivery_mode=2, retry=True, retry_policy={"max_retries": 3})
