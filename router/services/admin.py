"""The agency registry, the schema and the audit check: what an operator runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from router.services.agency_keys import ensure_agency_keys
from router.services.context import SYSTEM, ServiceContext
from router.store.chain import verify_all, verify_stream
from router.store.migrate import upgrade
from router.store.models import Agency, Delivery, Event


def sync_agencies(ctx: ServiceContext) -> dict[str, int]:
    """Load the configured agencies: insert new ones, update changed ones; never delete (handoffs refer)."""
    at = ctx.now()
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    with ctx.store.unit_of_work() as uow:
        existing = {a.code: a for a in uow.session.scalars(select(Agency))}
        for ac in ctx.config.agencies:
            i = ac.info
            values = {"name": i.name, "body_type": str(i.body_type), "tier": str(i.tier),
                      "jurisdiction": list(i.jurisdiction), "endpoint": ac.endpoint, "delivery": ac.delivery,
                      "active": i.active, "priority": i.priority, "supervised_by": ac.supervised_by}
            row = existing.get(i.code)
            if row is None:
                uow.session.add(Agency(code=i.code, created_at=at, updated_at=at, **values))
                counts["added"] += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                if row.delivery != "push" and ac.delivery == "push":  # it has a system now: send what waits
                    # Under the feed counter's lock, which a transaction writing deliveries holds until
                    # it commits (store/uow.py `_release_connected`): none is left held for a push agency.
                    uow.next_in_sequence("feed", 0)
                    uow.session.execute(update(Delivery).where(Delivery.agency_code == i.code,
                                                               Delivery.state == "held")
                                        .values(state="pending", next_attempt_at=at, updated_at=at))
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
    return counts


def migrate(ctx: ServiceContext) -> None:
    """Bring the database schema to the code's revision (`init-db`)."""
    upgrade(ctx.store.engine)


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


def verify_chain(ctx: ServiceContext) -> dict[str, Any]:
    with ctx.store.read() as s:
        checked, broken = verify_all(s)
    return {"ok": broken is None, "events_checked": checked, "first_broken": broken.as_dict() if broken else None}
