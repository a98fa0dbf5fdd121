"""What a partner agency does through the API: pull its handoffs and report on them
(docs/agency-guide.md §4-5).

An agency sees only handoffs made to it; anything else is NotFound, so it cannot even learn that
another agency's handoff exists. Reports are idempotent by the agency's `event_id`: the first
answer is stored in the same transaction as the change it made.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from router.adapters import adapter_for
from router.domain.errors import NotFound
from router.schemas.agency import AgencyEventOut, AgencyHandoffOut
from router.schemas.common import dump
from router.services.context import Actor, ServiceContext
from router.services.handling import apply_report
from router.services.handover import handed_over
from router.services.idempotency import Idempotency, request_hash
from router.services.operation import Operation
from router.services.referral import referral_input, revealed_fields
from router.store.models import Agency, Delivery, Dispute, Handoff, Outbox
from router.workflows.dispute import DisputeState
from router.workflows.handoff import ENDED, HandoffState

_HANDOFF, _EVENT = AgencyHandoffOut(), AgencyEventOut()
_HANDOFFS = AgencyHandoffOut(many=True)


def agency_actor(code: str) -> Actor:
    return Actor("agency", code, "agency")


def list_handoffs(ctx: ServiceContext, agency_code: str, state: str | None, page: int, per_page: int) -> dict[str, Any]:
    """What is waiting for this agency; no personal data, so no reveal to record."""
    with ctx.store.read() as s:
        q = select(Handoff).where(Handoff.agency_code == agency_code)
        pulls = state == HandoffState.DELIVERED and s.scalar(select(Agency.delivery)
                                                                .where(Agency.code == agency_code)) == "pull"
        if pulls:  # nothing is pushed to a pull agency: what waits for it is still `offered` until it fetches it
            q = q.where(Handoff.state.in_([HandoffState.OFFERED, HandoffState.DELIVERED]))
        elif state:
            q = q.where(Handoff.state == state)
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.options(selectinload(Handoff.dispute))
                         .order_by(Handoff.created_at.desc(), Handoff.id)
                         .offset((page - 1) * per_page).limit(per_page)).all()
        return {"items": dump(_HANDOFFS, rows, ctx.now(), ctx.config), "total": int(total), "page": page,
                "per_page": per_page}


def feed(ctx: ServiceContext, agency_code: str, since: int, limit: int) -> dict[str, Any]:
    """Every delivery and notice made to this agency after `since`, in order, each with its cursor
    (docs/agency-guide.md §4): what the push carries, for an agency that pulls or missed pushes. A
    referral still the agency's comes with its parties, audited as a reveal; fetching it is a pull
    agency's delivery. One the agency no longer holds comes with its state and no payload.

    The page is read first; each referral is then built in a transaction of its own that locks only
    its dispute, so a long page never holds many disputes at once (nor in an order another reader
    could cross)."""
    with ctx.store.read() as s:
        rows = s.scalars(select(Delivery).where(Delivery.agency_code == agency_code, Delivery.feed_seq > since)
                         .order_by(Delivery.feed_seq).limit(limit)).all()
        notices = {o.id: o.payload for o in s.scalars(select(Outbox).where(
            Outbox.id.in_([d.outbox_id for d in rows if d.kind != "handoff.offered"])))}
        pulls = s.scalar(select(Agency.delivery).where(Agency.code == agency_code)) == "pull"
    items = []
    for d in rows:
        item: dict[str, Any] = {"cursor": d.feed_seq, "kind": d.kind, "handoff_id": d.handoff_id,
                                "created_at": d.created_at}
        if d.kind != "handoff.offered":  # a notice: its payload was built with the change
            items.append({**item, "payload": {k: v for k, v in notices[d.outbox_id].items() if k != "agency"}})
        else:
            items.append({**item, **_referral(ctx, agency_code, d.dispute_id, d.handoff_id, pulls)})
    return {"items": items, "next": items[-1]["cursor"] if items else since}


def _referral(ctx: ServiceContext, agency_code: str, dispute_id: str, handoff_id: str,
              pulls: bool) -> dict[str, Any]:
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        dispute = uow.session.get(Dispute, dispute_id, with_for_update=True)
        h = uow.session.get(Handoff, handoff_id, populate_existing=True)
        if h.state in ENDED or dispute.state == DisputeState.ARCHIVED:
            return {"state": h.state, "payload": None}
        op = Operation(ctx, uow, dispute, agency_actor(agency_code), at)
        payload = adapter_for(h.body_type).build(referral_input(ctx, uow.session, h))
        if revealed := revealed_fields(payload):
            op.event("pii.revealed", {"to": agency_code, "fields": revealed, "via": "agency_feed"}, h)
        if pulls and h.state == HandoffState.OFFERED:
            handed_over(op, h, "agency_feed", {})
        return {"state": h.state, "payload": payload}


def _own(s: Session, agency_code: str, handoff_id: str) -> Handoff:
    h = s.get(Handoff, handoff_id)
    if h is None or h.agency_code != agency_code:
        raise NotFound("移交事项不存在", "no such handoff")
    return h


def get_handoff(ctx: ServiceContext, agency_code: str, handoff_id: str) -> dict[str, Any]:
    """The full referral with parties unmasked; the reveal is an audit event on the dispute's chain."""
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        h = _own(uow.session, agency_code, handoff_id)
        d = uow.session.get(Dispute, h.dispute_id, with_for_update=True)
        uow.session.refresh(h)  # a recall may have committed while we waited for the lock
        answer = dump(_HANDOFF, h, at, ctx.config)
        if h.state in ENDED or d.state == DisputeState.ARCHIVED:
            return answer  # no longer this agency's to handle (or the file is sealed): not the parties' data
        referral = adapter_for(h.body_type).build(referral_input(ctx, uow.session, h))
        op = Operation(ctx, uow, d, agency_actor(agency_code), at)
        if revealed := revealed_fields(referral):
            op.event("pii.revealed", {"to": agency_code, "fields": revealed, "via": "agency_pull"}, h)
        if h.state == HandoffState.OFFERED and uow.session.get(Agency, agency_code).delivery == "pull":
            handed_over(op, h, "agency_pull", {})  # a pull agency's fetch is its delivery
            answer = dump(_HANDOFF, h, at, ctx.config)
        return {**answer, "referral": referral}


def record_event(ctx: ServiceContext, agency_code: str, handoff_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply one agency report; the same event_id again returns the first answer and changes nothing."""
    key = str(body["event_id"])
    # The digest covers the handoff too: the same event_id on another handoff is a conflict.
    once = Idempotency(f"agency-event:{agency_code}", key, request_hash({**body, "handoff_id": handoff_id}),
                       "event_id")
    if (stored := once.lookup(ctx)) is not None:
        return stored[1]
    at = ctx.now()
    try:
        with ctx.store.unit_of_work() as uow:
            s = uow.session
            h = _own(s, agency_code, handoff_id)
            d = s.get(Dispute, h.dispute_id, with_for_update=True)
            s.refresh(h)
            # A concurrent retry of this very event may have committed while we waited for the lock.
            if (stored := once.stored(s, fresh=True)) is not None:
                return stored[1]
            apply_report(Operation(ctx, uow, d, agency_actor(agency_code), at), h, body)
            s.flush()
            answer = dump(_EVENT, {"event_id": key, "type": body["type"], "handoff": h, "recorded_at": at},
                          at, ctx.config)
            return once.remember(s, 200, answer, at)
    except IntegrityError:  # the same event_id raced in and committed first
        if (stored := once.lookup(ctx)) is not None:
            return stored[1]
        raise
