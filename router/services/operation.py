"""One operation on one dispute: the parameter object every step of a use case takes, and the
engine plumbing that turns a workflow trigger into stored state, audit events, outbox messages and
timers in the operation's transaction (docs/architecture.md §3).

A use case opens an Operation with the dispute locked (`on_dispute`, or `Operation` on a dispute it
locked itself) and passes it down; every step reads `op.dispute`, `op.actor`, `op.at` from it and
fires the engine through `op.fire_dispute` / `op.fire_handoff`. Nothing else changes a state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from router.domain.errors import NotFound
from router.services import notices
from router.services.context import SYSTEM, Actor, ServiceContext
from router.services.scope import scope_of
from router.settings import DomainConfig
from router.store.models import Delivery, Dispute, Handoff, LinkRequest
from router.store.uow import UnitOfWork
from router.workflows.dispute import DISPUTE
from router.workflows.engine import Fired, fire
from router.workflows.handoff import ENDED, FINAL, HANDOFF, HandoffState
from router.workflows.link import LINK, LinkState


@dataclass(frozen=True)
class Operation:
    ctx: ServiceContext
    uow: UnitOfWork
    dispute: Dispute
    actor: Actor
    at: datetime

    @property
    def config(self) -> DomainConfig:
        return self.ctx.config

    def tier_of(self, agency_code: str) -> str | None:
        """The agency's tier now: written into the events that place it, so figures keep it."""
        a = self.ctx.registry().by_code.get(agency_code)
        return str(a.tier) if a else None

    def by_system(self) -> Operation:
        """The same operation, its next steps taken by the router itself (a re-route after a return)."""
        return replace(self, actor=SYSTEM)

    def fire_dispute(self, trigger: str, extra: dict[str, Any] | None = None,
                     inputs: dict[str, Any] | None = None) -> Fired:
        d = self.dispute
        fired = fire(DISPUTE, d.id, d.state, trigger, {**(extra or {}), **(inputs or {})})
        d.state, d.updated_at = fired.dest, self.at
        self.uow.apply(fired, actor=self.actor.id, at=self.at, dispute=d, extra=extra)
        notices.after_dispute_transition(self.uow, d, fired, self.at)
        return fired

    def fire_handoff(self, h: Handoff, trigger: str, extra: dict[str, Any] | None = None,
                     inputs: dict[str, Any] | None = None) -> Fired:
        local_due = h.return_due.astimezone(self.config.calendar.tz) if h.return_due else None
        facts = {"body_type": h.body_type, "agency": h.agency_code, "designated": h.designated,
                 "return_due": h.return_due, "now": self.at,
                 "return_due_text": local_due.strftime("%Y-%m-%d %H:%M") if local_due else "", **(inputs or {})}
        fired = fire(HANDOFF, h.id, h.state, trigger, facts)
        h.state, h.updated_at = fired.dest, self.at
        self.dispute.updated_at = self.at
        self.uow.apply(fired, actor=self.actor.id, at=self.at, dispute=self.dispute, handoff_id=h.id,
                       extra={"agency": h.agency_code, "role": h.role, **(extra or {})})
        if fired.dest in FINAL or fired.dest == HandoffState.COMPLETED:  # its ladder has nothing left to do
            self.uow.cancel_timers(self.at, handoff_id=h.id)
            for req in self.uow.session.scalars(select(LinkRequest).where(  # nobody waits for their answer now
                    LinkRequest.handoff_id == h.id, LinkRequest.state == LinkState.PENDING)):
                self.fire_link(req, "withdraw", {"reason": f"申请联动的移交已{HANDOFF.state_names_zh[fired.dest]}"})
        if fired.dest in ENDED:  # a referral held for a pull or paper agency is no longer its to take
            self.uow.session.execute(update(Delivery).where(Delivery.handoff_id == h.id, Delivery.state == "held",
                                                            Delivery.kind == "handoff.offered")
                                     .values(state="cancelled", last_error=f"handoff {fired.dest}", updated_at=self.at)
                                     .execution_options(synchronize_session=False))
        return fired

    def fire_link(self, req: LinkRequest, trigger: str, extra: dict[str, Any] | None = None) -> Fired:
        """A link request's step (联动), on its dispute's chain beside the handoff that asked."""
        fired = fire(LINK, req.id, req.state, trigger, {**(extra or {})})
        req.state = fired.dest
        self.dispute.updated_at = self.at
        self.uow.apply(fired, actor=self.actor.id, at=self.at, dispute=self.dispute, handoff_id=req.handoff_id,
                       extra={"link_id": req.id, "kind": req.kind, "body_type": req.body_type, **(extra or {})})
        return fired

    def event(self, type: str, data: dict[str, Any], handoff: Handoff | None = None) -> None:
        """An audit event that records a fact without a state change (a warning, a reveal, an urge)."""
        self.uow.append_event(type=type, actor=self.actor.id, at=self.at, dispute=self.dispute,
                              handoff_id=handoff.id if handoff else None, data=data)

    def notify(self, h: Handoff, kind: str, payload: dict[str, Any]) -> None:
        """A notice to the agency holding `h`, through the outbox and its adapter like a delivery."""
        self.uow.add_message(kind, h.body_type, {**payload, "agency": h.agency_code}, at=self.at,
                             dispute_id=self.dispute.id, handoff_id=h.id)


@contextmanager
def on_dispute(ctx: ServiceContext, dispute_id: str, actor: Actor) -> Iterator[Operation]:
    """A unit of work with the dispute locked first, as every use case locks it (no deadlocks)."""
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        d = uow.session.get(Dispute, dispute_id, with_for_update=True)
        if d is None:
            raise NotFound("纠纷不存在", "no such dispute")
        scope_of(actor).require(d.division)
        yield Operation(ctx, uow, d, actor, at)
