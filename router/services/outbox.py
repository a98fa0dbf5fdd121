"""The outbox relay's transaction: committed outbox rows handed to a publisher, then marked published
(docs/architecture.md §3). The publisher (router/messaging) talks to the broker; this module only
decides what is due and records that it went.

A crash between publish and mark publishes the rows again; consumers are idempotent on the delivery
(a lease can be taken once), so a repeat costs nothing. Several relays may run on PostgreSQL: each
takes rows with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from router.services.context import ServiceContext
from router.store.models import Delivery, Outbox

# Fault injection for the crash tests: widen the publish-then-mark window.
PAUSE_BEFORE_MARK = float(os.environ.get("ROUTER_FAULT_RELAY_PAUSE_BEFORE_MARK", "0") or 0)


@dataclass(frozen=True)
class Message:
    """One outbox row as the broker gets it: a delivery to queue, or an audit event to announce."""

    kind: str
    routing_key: str
    payload: dict[str, Any]
    handoff_id: str | None
    delivery_id: str | None


_ANY_UNPUBLISHED = select(Outbox.seq).where(Outbox.published_at.is_(None)).limit(1)


def relay(ctx: ServiceContext, publish: Callable[[Message], None], batch: int = 200) -> int:
    """Publish up to `batch` unpublished rows in order; returns how many were published."""
    now = ctx.now()
    with ctx.store.read() as r:  # polled often: look without taking SQLite's one write lock first
        if r.scalar(_ANY_UNPUBLISHED) is None:
            return 0
    with ctx.store.unit_of_work() as uow:
        s = uow.session
        q = select(Outbox).where(Outbox.published_at.is_(None)).order_by(Outbox.seq).limit(batch)
        if not ctx.settings.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        rows = s.scalars(q).all()
        if not rows:
            return 0
        ids = [r.id for r in rows]
        deliveries = dict(s.execute(select(Delivery.outbox_id, Delivery.id).where(Delivery.outbox_id.in_(ids))).all())
        for r in rows:
            publish(Message(r.kind, r.routing_key, r.payload, r.handoff_id, deliveries.get(r.id)))
            r.attempts += 1
        if PAUSE_BEFORE_MARK:
            time.sleep(PAUSE_BEFORE_MARK)
        s.execute(update(Outbox).where(Outbox.id.in_(ids)).values(published_at=now)
                  .execution_options(synchronize_session=False))
        s.execute(update(Delivery).where(Delivery.outbox_id.in_(ids), Delivery.enqueued_at.is_(None))
                  .values(enqueued_at=now).execution_options(synchronize_session=False))
        return len(rows)
