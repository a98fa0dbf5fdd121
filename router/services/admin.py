"""The agency registry, the schema and the audit check: what an operator runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from router.services.agency_keys import ensure_agency_keys
from router.services.context import SYSTEM, ServiceContext
from router.store.chain import verify_stream
from router.store.migrate import upgrade
from router.store.models import Agency, Delivery, Event
from router.store.store_settings import settle_suite


def sync_agencies(ctx: ServiceContext) -> dict[str, int]:
    """Load the configured agencies: insert new ones, update changed ones; never delete (handoffs refer).
    Then send what waits for any agency that has a system now (`release_connected`)."""
    at = ctx.now()
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    with ctx.store.unit_of_work() as uow:
        existing = {a.code: a for a in uow.session.scalars(select(Agency))}
        for ac in ctx.config.agencies:
            i = ac.info
            values = {"name": i.name, "body_type": str(i.body_type), "tier": str(i.tier),
                      "jurisdiction": list(i.jurisdiction), "endpoint": ac.endpoint, "delivery": ac.delivery,
                      "active": i.active, "priority": i.priority, "supervised_by": ac.supervised_by,
                      "signing": ac.signing}
            row = existing.get(i.code)
            if row is None:
                uow.session.add(Agency(code=i.code, created_at=at, updated_at=at, **values))
                counts["added"] += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                row.updated_at = at
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        uow.session.flush()
        counts["keys_issued"] = ensure_agency_keys(ctx, uow, at)
        if counts["added"] or counts["updated"] or counts["keys_issued"]:
            uow.append_event(type="agencies.synced", actor=SYSTEM.id, at=at, data=dict(counts))
    ctx.invalidate_registry()
    counts["released"] = release_connected(ctx)
    return counts


def release_connected(ctx: ServiceContext) -> int:
    """Held deliveries of agencies that are push now go out; how many. A transaction that read an
    agency's old mode writes its deliveries holding the feed counter's lock (store/uow.py
    `_release_connected`): waiting for that lock once, in a transaction of its own, lets every such
    transaction commit first, and the release after it sees their rows. Neither step holds the lock
    while it waits for a delivery's row, so neither can deadlock with a transaction that locks a held
    delivery before its feed position (a recall, then a new offer). Run on every sync, it also heals a
    sync that stopped between its steps."""
    with ctx.store.unit_of_work() as uow:
        uow.next_in_sequence("feed", 0)
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        push = select(Agency.code).where(Agency.delivery == "push")
        return uow.session.execute(
            update(Delivery).where(Delivery.state == "held", Delivery.agency_code.in_(push))
            .values(state="pending", next_attempt_at=at, updated_at=at)
            .execution_options(synchronize_session=False)).rowcount


def migrate(ctx: ServiceContext) -> None:
    """Bring the database schema to the code's revision (`init-db`), and record its suite."""
    upgrade(ctx.store.engine)
    settle_suite(ctx.store.engine, ctx.settings.crypto)


def point_agencies_at(ctx: ServiceContext, endpoint_template: str) -> None:
    prefix, _, suffix = endpoint_template.partition("{code}")
    with ctx.store.unit_of_work() as uow:
        uow.session.execute(update(Agency).values(endpoint=prefix + Agency.code + suffix))
    ctx.invalidate_registry()


def verify_dispute_chain(ctx: ServiceContext, dispute_id: str) -> dict[str, Any]:
    """One dispute's chain: intact, or its first broken link (docs/audit-chain.md §3)."""
    with ctx.store.read() as s:
        broken = verify_stream(s, dispute_id)
        checked = s.scalar(select(func.count()).select_from(Event).where(Event.stream == dispute_id)) or 0
    return {"ok": broken is None, "events_checked": checked, "first_broken": broken.as_dict() if broken else None}


