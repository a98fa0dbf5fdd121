"""Delivering handoffs to agencies: lease, send through the adapter, record the outcome.

The deliveries table is the queue of record. A worker leases a delivery before it calls the
agency; whatever happens to the worker, the lease runs out and the sweeper offers the delivery
again. Outcomes are written through the workflow engine in one transaction with their events:
delivered; retried on the configured schedule; or, after the last attempt or a final 4xx,
undeliverable, which is a handoff not taken like any other (services/not_taken.py).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from router.adapters import adapter_for
from router.adapters.base import SendResult
from router.services.agency_keys import agency_secrets
from router.services.context import SYSTEM, ServiceContext
from router.services.dispatch import tell_taken_back
from router.services.not_taken import handoff_not_taken
from router.services.operation import Operation
from router.services.referral import referral_input, revealed_fields
from router.store.models import Agency, Delivery, Dispute, Handoff, Outbox
from router.store.uow import UnitOfWork
from router.workflows.handoff import ENDED, WAITING, HandoffState
from router.workflows.handoff import STATE_NAMES_ZH as HANDOFF_STATE_ZH

log = logging.getLogger(__name__)
HANDOFF_KINDS = frozenset({"handoff.offered"})

REENQUEUE_AFTER = timedelta(seconds=60)


# --------------------------------------------------------------------------- leasing
@dataclass(frozen=True)
class Job:
    delivery_id: str
    owner: str
    attempt: int
    url: str | None
    payload: dict[str, Any]
    secrets: list[str]
    idempotency_key: str
    agency_code: str
    reference: str
    body_type: str
    kind: str = "handoff.offered"
    feed_seq: int | None = None  # its place among this agency's deliveries
    signing: str = "hmac-sha256"  # the agency's signing algorithm (adapters/signing.py)


def claim(ctx: ServiceContext, delivery_id: str, owner: str) -> Job | None:
    """Lease a due delivery; None when it is done, not yet due, or leased by a live worker."""
    now = ctx.now()
    lease_seconds = ctx.settings.lease_seconds
    with ctx.store.unit_of_work() as uow:
        s = uow.session
        n = s.execute(update(Delivery).where(
            Delivery.id == delivery_id, Delivery.state == "pending", Delivery.next_attempt_at <= now,
            or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now),
        ).values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds),
                 attempts=Delivery.attempts + 1, updated_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if n != 1:
            return None
        d = s.get(Delivery, delivery_id)
        agency = s.get(Agency, d.agency_code)
        if agency is not None and agency.delivery != "push":  # it became a pull or paper agency since?
            # Asked again under the feed counter's lock, as every writer of a held delivery does, so a
            # sync connecting it again meanwhile releases this one after it commits (admin.py
            # `release_connected`).
            uow.next_in_sequence("feed", 0)
            agency = s.get(Agency, d.agency_code, populate_existing=True)
        if agency is not None and agency.delivery != "push":
            d.state, d.attempts, d.lease_owner, d.lease_expires_at = "held", d.attempts - 1, None, None
            return None
        url = agency.endpoint if agency else None
        if d.kind not in HANDOFF_KINDS:  # a notice (12345 status, 回单): its payload was built with the change
            row = s.scalars(select(Outbox).where(Outbox.id == d.outbox_id)).one()
            payload = {k: v for k, v in row.payload.items() if k != "agency"}
            return Job(d.id, owner, d.attempts, url, payload, agency_secrets(ctx, s, d.agency_code), d.outbox_id,
                       d.agency_code, str(payload.get("reference", "")), d.body_type, d.kind, d.feed_seq,
                       agency.signing if agency else "hmac-sha256")
        h = s.get(Handoff, d.handoff_id)
        if h.state in ENDED:  # withdrawn or given up before it went out: nothing to send
            d.state, d.lease_owner, d.lease_expires_at, d.last_error = "cancelled", None, None, f"handoff {h.state}"
            return None
        payload = adapter_for(d.body_type).build(referral_input(ctx, s, h))
        return Job(d.id, owner, d.attempts, url, payload, agency_secrets(ctx, s, d.agency_code), h.id, d.agency_code,
                   h.dispute.reference, d.body_type, feed_seq=d.feed_seq,
                   signing=agency.signing if agency else "hmac-sha256")


# --------------------------------------------------------------------------- outcomes
def backoff(schedule: tuple[float, ...], attempt: int, retry_after: float | None, rng: random.Random) -> float | None:
    """Seconds until the next attempt after `attempt` failed; None when the schedule is spent."""
    if attempt >= len(schedule):
        return None
    base = schedule[attempt]
    jittered = base * (0.9 + 0.2 * rng.random())  # +-10 %: retries of many deliveries spread out
    return max(jittered, retry_after or 0.0)


def complete(ctx: ServiceContext, job: Job, result: SendResult, *, rng: random.Random | None = None) -> str:
    """Record one attempt's outcome; returns the delivery's state afterwards."""
    now = ctx.now()
    schedule = ctx.config.retry_schedules.get(job.agency_code, ctx.settings.delivery_schedule)
    rng = rng or random.Random()
    with ctx.store.unit_of_work() as uow:
        s = uow.session
        # The dispute first, as every use case locks it; then the delivery and a fresh handoff: an
        # agency's acknowledgement or an expiry may have moved the handoff while we were sending.
        dispute_id = s.scalar(select(Delivery.dispute_id).where(Delivery.id == job.delivery_id))
        dispute = s.get(Dispute, dispute_id, with_for_update=True) if dispute_id else None
        d = s.get(Delivery, job.delivery_id, with_for_update=True, populate_existing=True)
        if d is None or d.state != "pending" or d.lease_owner != job.owner:
            return d.state if d else "missing"  # another worker took over after our lease ran out
        h = s.get(Handoff, d.handoff_id, populate_existing=True) if d.kind in HANDOFF_KINDS else None
        d.lease_owner, d.lease_expires_at, d.last_status, d.updated_at = None, None, result.status, now
        attempt_data = {"delivery_id": d.id, "attempt": d.attempts, "status": result.status,
                        "latency_ms": round(result.elapsed * 1000, 1), "agency": d.agency_code}
        if h is None:
            return _complete_notice(uow, d, dispute, result, attempt_data, schedule, rng, now)
        op = Operation(ctx, uow, dispute, SYSTEM, now)
        if result.outcome == "delivered":
            d.state, d.delivered_at, d.last_error = "succeeded", now, None
            # The referral carries the parties unmasked: the reveal goes on the audit trail (docs/domain.md §9).
            attempt_data["pii_revealed"] = revealed_fields(job.payload)
            if h.state == HandoffState.OFFERED:
                op.fire_handoff(h, "deliver", extra=attempt_data)
            else:  # the agency already answered (e.g. acknowledged) before our delivery was recorded
                op.event("delivery.succeeded", attempt_data, h)
                if h.state in (HandoffState.RECALLED, HandoffState.EXPIRED):  # it arrived after it was taken back
                    tell_taken_back(op, h, f"该移交已{HANDOFF_STATE_ZH[h.state]}，请勿办理")
            return d.state
        d.last_error = result.error
        wait = None if result.outcome == "final" else backoff(schedule, d.attempts, result.retry_after, rng)
        op.event("delivery.attempt_failed", {**attempt_data, "error": result.error, "final": wait is None,
                                             "retry_in_s": None if wait is None else round(wait, 1)}, h)
        if wait is not None:
            d.next_attempt_at = now + timedelta(seconds=wait)
            return d.state
        d.state = "failed"
        if h.state in WAITING:
            reason = (f"对方拒收（HTTP {result.status}）" if result.outcome == "final"
                      else f"{d.attempts}次投递均失败：{result.error}")
            op.fire_handoff(h, "fail_delivery", extra={"reason": reason, "error": result.error, "attempts": d.attempts})
            handoff_not_taken(op, h, reason)
        return d.state


def _complete_notice(uow: UnitOfWork, d: Delivery, dispute: Dispute | None, result: SendResult,
                     data: dict[str, Any], schedule: tuple[float, ...], rng: random.Random, now: datetime) -> str:
    """A notice has no handoff to move: it is delivered, retried, or given up on, and audited."""
    data = {**data, "kind": d.kind}
    if result.outcome == "delivered":
        d.state, d.delivered_at, d.last_error = "succeeded", now, None
        uow.append_event(type="notice.delivered", actor=SYSTEM.id, at=now, data=data, dispute=dispute)
        return d.state
    d.last_error = result.error
    wait = None if result.outcome == "final" else backoff(schedule, d.attempts, result.retry_after, rng)
    uow.append_event(type="notice.attempt_failed", actor=SYSTEM.id, at=now, dispute=dispute,
                     data={**data, "error": result.error, "final": wait is None})
    if wait is None:
        d.state = "failed"
    else:
        d.next_attempt_at = now + timedelta(seconds=wait)
    return d.state


def defer(ctx: ServiceContext, job: Job, seconds: float) -> str:
    """Give a lease back without spending an attempt (the agency's circuit is open)."""
    now = ctx.now()
    with ctx.store.unit_of_work() as uow:
        n = uow.session.execute(update(Delivery).where(Delivery.id == job.delivery_id,
                                                       Delivery.lease_owner == job.owner)
                                .values(lease_owner=None, lease_expires_at=None, attempts=Delivery.attempts - 1,
                                        next_attempt_at=now + timedelta(seconds=seconds), updated_at=now)
                                .execution_options(synchronize_session=False)).rowcount
    return "deferred" if n else "missing"


def resume(ctx: ServiceContext, agency_code: str) -> int:
    """An agency is reachable again (its circuit closed): every delivery waiting for it is due now, and
    goes out in the order it was made (the feed's order). Audited on the system chain for supervisors."""
    now = ctx.now()
    with ctx.store.unit_of_work() as uow:
        waiting = (Delivery.agency_code == agency_code, Delivery.state == "pending",
                   or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now))  # not in hand
        uow.session.execute(update(Delivery).where(*waiting, Delivery.next_attempt_at > now)
            .values(next_attempt_at=now, updated_at=now).execution_options(synchronize_session=False))
        n = uow.session.scalar(select(func.count()).select_from(Delivery).where(*waiting)) or 0
        uow.session.execute(update(Agency).where(Agency.code == agency_code).values(recovered_at=now)
                            .execution_options(synchronize_session=False))
        if n:
            uow.append_event(type="agency.recovered", actor=SYSTEM.id, at=now, dispute=None,
                             data={"agency": agency_code, "backlog": n})
    return n


def recovered_since(ctx: ServiceContext, agency_code: str, since: datetime) -> bool:
    """Did a worker find the agency reachable again after `since` (when this worker's circuit opened)?"""
    with ctx.store.read() as s:
        at = s.scalar(select(Agency.recovered_at).where(Agency.code == agency_code))
    return at is not None and at > since


def older_waiting(ctx: ServiceContext, job: Job) -> bool:
    """While a backlog drains, is an older delivery to the same agency due and waiting (not in a
    worker's hands)? Then this one steps back, so the agency gets them in the order they were made."""
    if job.feed_seq is None:
        return False
    now = ctx.now()
    with ctx.store.read() as s:
        return s.scalar(select(Delivery.id).where(
            Delivery.agency_code == job.agency_code, Delivery.state == "pending", Delivery.feed_seq < job.feed_seq,
            Delivery.next_attempt_at <= now,  # one retrying later (or deferred by another worker) holds none up
            or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now)).limit(1)) is not None


def due_for_enqueue(ctx: ServiceContext, limit: int = 500) -> list[tuple[str, str]]:
    """Deliveries to put (back) on the broker: due and unleased, and not enqueued since they became due
    (or enqueued so long ago that the message must have been lost). Marks them enqueued."""
    now = ctx.now()
    with ctx.store.unit_of_work() as uow:
        s = uow.session
        q = (select(Delivery).where(
            Delivery.state == "pending", Delivery.next_attempt_at <= now,
            or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now),
            or_(Delivery.enqueued_at.is_(None), Delivery.enqueued_at < Delivery.next_attempt_at,
                Delivery.enqueued_at < now - REENQUEUE_AFTER,
                and_(Delivery.lease_expires_at.is_not(None), Delivery.lease_expires_at < now)))
            .order_by(Delivery.next_attempt_at, Delivery.feed_seq).limit(limit))  # on ix_deliveries_due
        if not ctx.settings.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        rows = s.scalars(q).all()
        for d in rows:
            d.enqueued_at = now
            d.lease_owner, d.lease_expires_at = None, None
        return [(d.id, d.body_type) for d in rows]
