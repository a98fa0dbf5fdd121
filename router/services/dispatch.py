"""Routing, handoff and supervisor overrides: the engine fired, its products written in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from router.adapters.base import recall_notice
from router.domain.errors import NotFound, StateConflict, ValidationError
from router.domain.ladder import ladder
from router.domain.model import BodyType, Tier
from router.domain.rules import AgencyInfo, RoutingDecision, next_candidate
from router.services import notices
from router.services.context import Actor, ServiceContext
from router.services.facts import facts_of
from router.store.models import Agency, Dispute, Handoff
from router.store.uow import UnitOfWork
from router.workflows import handoff as hw
from router.workflows.dispute import DISPUTE
from router.workflows.engine import fire
from router.workflows.handoff import HANDOFF


def transition_dispute(uow: UnitOfWork, d: Dispute, trigger: str, actor: Actor, at: datetime,
                       extra: dict[str, Any] | None = None) -> None:
    fired = fire(DISPUTE, d.id, d.state, trigger, extra or {})
    d.state, d.updated_at = fired.dest, at
    uow.apply(fired, actor=actor.id, at=at, dispute=d, extra=extra)
    notices.after_dispute_transition(uow, d, fired, at)


def transition_handoff(uow: UnitOfWork, d: Dispute, h: Handoff, trigger: str, actor: Actor, at: datetime,
                       extra: dict[str, Any] | None = None, ctx: dict[str, Any] | None = None) -> None:
    context = {"body_type": h.body_type, "agency": h.agency_code, "designated": h.designated,
               "return_due": h.return_due, "now": at, **(ctx or {})}
    fired = fire(HANDOFF, h.id, h.state, trigger, context)
    h.state, h.updated_at = fired.dest, at
    d.updated_at = at
    uow.apply(fired, actor=actor.id, at=at, dispute=d, handoff_id=h.id,
              extra={"agency": h.agency_code, "role": h.role, **(extra or {})})
    if fired.dest in hw.TERMINAL_STATES or fired.dest == "completed":  # its ladder has nothing left to do
        uow.cancel_timers(at, handoff_id=h.id)


def recall(uow: UnitOfWork, d: Dispute, h: Handoff, actor: Actor, at: datetime, reason: str) -> None:
    """撤回: the centre takes a handoff back. An agency that already has the file is told to stop,
    through its adapter like any notice; one that never received it gets nothing (its delivery is dropped)."""
    had_it = h.state in ("delivered", "acknowledged", "in_progress")
    transition_handoff(uow, d, h, "recall", actor, at, extra={"reason": reason})
    if had_it:
        notice = recall_notice(h.id, d.reference, reason, at.isoformat())
        uow.add_message("handoff.recalled", h.body_type, {**notice, "agency": h.agency_code}, at=at,
                        dispute_id=d.id, handoff_id=h.id)


def lead_type(d: Dispute) -> str:
    """The body type the lead has now (or the routing chose), for a re-route that names none."""
    leads = [h for h in d.handoffs if h.role == "lead"]
    if leads:
        return leads[-1].body_type
    return ((d.routing or {}).get("lead") or {}).get("body_type") or "people_mediation"


def offer(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, agency_code: str, body_type: BodyType, role: str,
          actor: Actor, at: datetime, *, designated: bool = False, placement: int = 1) -> Handoff:
    """Create a handoff in `offered`: outbox message and acknowledgement/return timers with it."""
    body = ctx.config.bodies[body_type]
    cal = ctx.config.calendar
    # A judicial-confirmation request runs on the court's confirmation clock (司法确认规定 4-5).
    ack_key = "confirmation_accept" if role == "confirm" and "confirmation_accept" in body.extra else "acknowledge"
    ack_due = cal.deadline(at, body.extra.get(ack_key) or body.acknowledge)
    return_due = cal.deadline(at, body.extra.get(ack_key) or body.return_within)
    h = Handoff(id=str(uuid.uuid4()), dispute_id=d.id, agency_code=agency_code, body_type=str(body_type), role=role,
                state="new", designated=designated, placement=placement, ack_due=ack_due, return_due=return_due,
                handle_due=None, created_at=at, updated_at=at,
                deadline_rules={"ack_due": body.rule(ack_key),
                                "return_due": body.rule(ack_key if ack_key != "acknowledge" else "return_within")})
    d.handoffs.append(h)  # cascades the insert; a separate session.add would autoflush it in twice
    rungs = ladder(cal, ctx.config.bodies.ladder(body_type), "ack", at, ack_due, h.deadline_rules["ack_due"])
    h.ack_warn_at = next((r.due for r in rungs if r.kind == "ack_warn"), None)
    transition_handoff(uow, d, h, "offer", actor, at,
                       extra={"ack_due": ack_due, "return_due": return_due, "designated": designated,
                              "deadline_rules": h.deadline_rules},
                       ctx={"ack_due": ack_due, "ack_due_rule": h.deadline_rules["ack_due"], "ack_rungs": rungs,
                            "return_due": return_due, "return_due_rule": h.deadline_rules["return_due"]})
    return h


def apply_decision(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, decision: RoutingDecision, actor: Actor,
                   at: datetime) -> None:
    """received -> routed -> handed_off (lead + assisting offered), or -> needs_supervisor."""
    d.routing = decision.as_dict()
    d.tier = str(decision.tier)
    if decision.needs_supervisor:
        transition_dispute(uow, d, "route_to_supervisor", actor, at, extra={"routing": d.routing})
        return
    d.lead_agency = decision.lead.agency
    transition_dispute(uow, d, "route", actor, at, extra={"routing": d.routing})
    offer(ctx, uow, d, decision.lead.agency, decision.lead.body_type, "lead", actor, at)
    for p in decision.assisting:
        offer(ctx, uow, d, p.agency, p.body_type, "assist", actor, at)
    transition_dispute(uow, d, "hand_off", actor, at)


def open_lead(d: Dispute) -> Handoff | None:
    return next((h for h in d.handoffs if h.role == "lead" and h.state in hw.OPEN_STATES), None)


def _tried(d: Dispute) -> frozenset[str]:
    return frozenset(h.agency_code for h in d.handoffs if h.role == "lead")


def lead_placements(d: Dispute) -> int:
    return sum(1 for h in d.handoffs if h.role == "lead")


def failed_placements(d: Dispute) -> int:
    """Lead handoffs the bodies did not take (returned, expired, undeliverable): the "three failed
    dispatches" rule counts these, not a mediation that was tried and failed."""
    return sum(1 for h in d.handoffs if h.role == "lead" and h.state in ("returned", "expired", "undeliverable"))


def next_lead(ctx: ServiceContext, d: Dispute, current: BodyType, tier: Tier | None = None) -> AgencyInfo | None:
    """The next agency for the lead, never one that already had it (DOMAIN.md section 6).

    While the lead is still of a body type the routing chose, any of those types may take it;
    at a later stage (mediation failed -> arbitration) only the current stage's type.
    """
    routed = [BodyType(b) for b in (d.routing or {}).get("lead_body_types", [])]
    body_types = routed if current in routed else [current]
    return next_candidate(facts_of(d), body_types, tier or Tier(d.tier or Tier.TOWN), ctx.registry(), _tried(d))


def place_lead(ctx: ServiceContext, uow: UnitOfWork, d: Dispute, agency_code: str, body_type: BodyType,
               actor: Actor, at: datetime, *, extra: dict[str, Any], designated: bool = False) -> None:
    """routed again -> a new lead handoff offered -> handed_off."""
    transition_dispute(uow, d, "reroute", actor, at, extra={**extra, "agency": agency_code})
    d.lead_agency = agency_code
    offer(ctx, uow, d, agency_code, body_type, "lead", actor, at, designated=designated,
          placement=lead_placements(d) + 1)
    transition_dispute(uow, d, "hand_off", actor, at)


def override(ctx: ServiceContext, dispute_id: str, action: str, reason: str, actor: Actor,
             agency_code: str | None = None) -> None:
    """Supervisor re-route (next candidate or a named agency) or designation (指定, may not be returned)."""
    if not reason or not reason.strip():
        raise ValidationError("每项督办操作都必须填写理由", "every action needs a reason", field="reason")
    if action == "designate" and not agency_code:
        raise ValidationError("指定办理必须选择承办单位", "designate needs an agency", field="agency")
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        d = uow.session.get(Dispute, dispute_id, with_for_update=True)
        if d is None:
            raise NotFound("纠纷不存在", "no such dispute")
        if "reroute" not in DISPUTE.triggers_from(d.state):
            zh = DISPUTE.state_names_zh.get(d.state, d.state)
            raise StateConflict(f"当前状态（{zh}）不能改派或指定", f"cannot {action} in state {d.state!r}",
                                state=d.state)
        target = None
        if agency_code:
            target = uow.session.get(Agency, agency_code)
            if target is None or not target.active:
                raise ValidationError(f"承办单位不存在或已停用：{agency_code}",
                                      f"unknown or inactive agency {agency_code!r}", field="agency")
            if action == "reroute" and agency_code in _tried(d):
                raise StateConflict("同一纠纷不得再次推送给已承办过的单位；如确需由其办理，请使用指定办理",
                                    "this agency already had the dispute; use designate", state=d.state,
                                    field="agency")
        lead = open_lead(d)
        if lead is not None:
            recall(uow, d, lead, actor, at, reason)
        if target is None:
            cand = next_lead(ctx, d, BodyType(lead.body_type if lead else lead_type(d)))
            if cand is None:
                if d.state == "needs_supervisor":
                    raise ValidationError("没有其他可承接的单位，请指定承办单位",
                                          "no other candidate: designate an agency", field="agency")
                transition_dispute(uow, d, "route_to_supervisor", actor, at,
                                   extra={"reason": reason, "action": action, "no_candidate": True})
                return
            target = uow.session.get(Agency, cand.code)
        place_lead(ctx, uow, d, target.code, BodyType(target.body_type), actor, at,
                   extra={"reason": reason, "action": action}, designated=action == "designate")


def agencies_for_reference(ctx: ServiceContext, body_type: str | None, tier: str | None,
                           division: str | None) -> list[Agency]:
    with ctx.store.read() as s:
        q = select(Agency).order_by(Agency.code)
        if body_type:
            q = q.where(Agency.body_type == body_type)
        if tier:
            q = q.where(Agency.tier == tier)
        rows = list(s.scalars(q))
    if division:
        reg = ctx.registry()
        rows = [a for a in rows if (info := reg.by_code.get(a.code)) is not None and info.covers(division)]
    return rows
