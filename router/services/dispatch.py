"""Dispatch (分流): offering a handoff, placing the lead, replacing a lead that was not taken, recalling.

Every decision of which agency takes a dispute after intake is made here: the routing decision's
lead and assisting bodies, the next candidate when a lead is returned, expires or cannot be
delivered (never an agency that already had it, docs/domain.md §7), supervisors after three failed
placements. Routing itself (the rules) is the pure `router.domain.rules`.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from router.adapters.base import recall_notice
from router.domain.errors import ValidationError
from router.domain.linkage import NEVER_LEAD
from router.domain.model import RETURNS_FOR_SUPERVISORS, BodyType, ReturnReason, Tier, body_zh
from router.domain.registry import AgencyInfo
from router.domain.rules import RoutingDecision, next_candidate
from router.services import clock
from router.services.facts import facts_of
from router.services.operation import Operation
from router.store.models import Agency, Dispute, Handoff
from router.workflows.dispute import WITH_A_LEAD
from router.workflows.handoff import NOT_TAKEN, OPEN, HandoffRole, HandoffState


# --------------------------------------------------------------------------- a dispute's handoffs
def open_lead(d: Dispute) -> Handoff | None:
    return next((h for h in d.handoffs if h.role == HandoffRole.LEAD and h.state in OPEN), None)


def tried(d: Dispute) -> frozenset[str]:
    """Agencies that already had the lead: never offered it again unless a supervisor designates one."""
    return frozenset(h.agency_code for h in d.handoffs if h.role == HandoffRole.LEAD)


def lead_placements(d: Dispute) -> int:
    return sum(1 for h in d.handoffs if h.role == HandoffRole.LEAD)


def failed_placements(d: Dispute) -> int:
    """Lead handoffs the bodies did not take (returned, expired, undeliverable): the "three failed
    dispatches" rule counts these, not a mediation that was tried and failed."""
    return sum(1 for h in d.handoffs if h.role == HandoffRole.LEAD and h.state in NOT_TAKEN)


def lead_type(d: Dispute) -> str:
    """The body type the lead has now (or the routing chose), for a re-route that names none."""
    leads = [h for h in d.handoffs if h.role == HandoffRole.LEAD]
    if leads:
        return leads[-1].body_type
    return ((d.routing or {}).get("lead") or {}).get("body_type") or "people_mediation"


def next_lead(op: Operation, current: BodyType, tier: Tier | None = None,
              code: ReturnReason = ReturnReason.OTHER) -> AgencyInfo | None:
    """The next agency for the lead, never one that already had it.

    While the lead is still of a body type the routing chose, any of those types may take it;
    at a later stage (mediation failed -> arbitration) only the current stage's type. A return
    "not our area" keeps the body type (another agency of it); "not our scope" moves on to the
    routing's next body type.
    """
    d = op.dispute
    routed = [BodyType(b) for b in (d.routing or {}).get("lead_body_types", [])]
    # From the current type on: a dispute never goes back to a stage it left (arbitration -> mediation).
    body_types = routed[routed.index(current):] if current in routed else [current]
    facts = facts_of(d)
    if code == ReturnReason.NOT_OUR_AREA:
        body_types = [current]
        facts = replace(facts, division=_parties_division(op, facts.division))
    elif code == ReturnReason.NOT_OUR_SCOPE:
        body_types = body_types[1:]
    return next_candidate(facts, body_types, tier or Tier(d.tier or Tier.TOWN), op.ctx.registry(), tried(d))


def _parties_division(op: Operation, fallback: str) -> str:
    """Where the applicants live, when they live elsewhere than the dispute was registered: the area
    a "not our area" return points to (docs/domain.md §7)."""
    tree = op.config.divisions
    for p in op.dispute.parties:
        if p.role == "applicant" and p.division and p.division != fallback and tree.get(p.division) is not None:
            return p.division
    return fallback


# --------------------------------------------------------------------------- offering
def offer(op: Operation, agency_code: str, body_type: BodyType, role: HandoffRole, *, designated: bool = False,
          placement: int = 1) -> Handoff:
    """A handoff in `offered`, with its delivery queued and its acknowledgement clock running."""
    d = op.dispute
    h = Handoff(id=str(uuid.uuid4()), dispute_id=d.id, agency_code=agency_code, body_type=str(body_type),
                role=str(role), state=HandoffState.NEW, designated=designated, placement=placement, handle_due=None,
                created_at=op.at, updated_at=op.at)
    inputs = clock.ack_clock(op, h)
    d.handoffs.append(h)  # cascades the insert; a separate session.add would autoflush it in twice
    op.fire_handoff(h, "offer", extra={"ack_due": h.ack_due, "return_due": h.return_due, "designated": designated,
                                       "deadline_rules": h.deadline_rules, "tier": op.tier_of(agency_code)},
                    inputs=inputs)
    return h


def apply_decision(op: Operation, decision: RoutingDecision) -> None:
    """received -> routed -> handed_off (lead + assisting offered), or -> needs_supervisor."""
    d = op.dispute
    d.routing = decision.as_dict()
    d.tier = str(decision.tier)
    if decision.needs_supervisor:
        op.fire_dispute("route_to_supervisor", extra={"routing": d.routing})
        return
    d.lead_agency = decision.lead.agency
    op.fire_dispute("route", extra={"routing": d.routing})
    offer(op, decision.lead.agency, decision.lead.body_type, HandoffRole.LEAD)
    for p in decision.assisting:
        offer(op, p.agency, p.body_type, HandoffRole.ASSIST)
    op.fire_dispute("hand_off")


def named_agency(op: Operation, code: str | None, body_type: BodyType | None = None) -> Agency | None:
    """The agency a person named (None when none was): it must exist, be active and, if asked, be
    of `body_type`; otherwise 422 on `agency`."""
    if not code:
        return None
    a = op.uow.session.get(Agency, code)
    if a is None or not a.active:
        raise ValidationError(f"承办单位不存在或已停用：{code}", f"unknown or inactive agency {code!r}", field="agency")
    if body_type is not None and a.body_type != body_type:
        raise ValidationError(f"{a.name}不是{body_zh(body_type)}", f"{code} is not a {body_type}", field="agency")
    return a


def offer_lead(op: Operation, agency_code: str, body_type: BodyType, *, designated: bool = False) -> None:
    """routed -> the next lead placement offered -> handed_off (a dispute already routed again: 补正,
    再次调解, 重办; a re-route from a handoff goes through `place_lead`)."""
    if body_type in NEVER_LEAD:  # 专家库 gives opinions; the 12345 hotline forwards: neither mediates
        raise ValidationError(f"{body_zh(body_type)}不能作为主办单位", f"{body_type} cannot take the lead",
                              field="agency")
    d = op.dispute
    d.lead_agency = agency_code
    offer(op, agency_code, body_type, HandoffRole.LEAD, designated=designated, placement=lead_placements(d) + 1)
    op.fire_dispute("hand_off")


def place_lead(op: Operation, agency_code: str, body_type: BodyType, *, extra: dict[str, Any],
               designated: bool = False) -> None:
    """routed again -> a new lead handoff offered -> handed_off."""
    op.fire_dispute("reroute", extra={**extra, "agency": agency_code})
    offer_lead(op, agency_code, body_type, designated=designated)


def replace_lead(op: Operation, failed: Handoff, reason: str, code: ReturnReason = ReturnReason.OTHER) -> None:
    """The lead was not taken: the next candidate for the return's reason, or supervisors after 3 failed
    placements (`max_placements` in bodies.yaml), when no candidate is left, or when the reason is one
    no other body solves (the party refuses, already in proceedings); an incomplete registration goes
    back to the window (router/services/completion.py)."""
    if op.dispute.state not in WITH_A_LEAD:
        return
    op = op.by_system()
    if code == ReturnReason.INCOMPLETE and failed_placements(op.dispute) < op.config.bodies.max_placements:
        # the window completes it (补正), then the same body gets it again; returned again and again, the
        # supervisors decide (below)
        op.fire_dispute("request_completion", extra={"reason": reason, "return_code": code,
                                                     "agency": failed.agency_code, "handoff_id": failed.id})
        return
    limit = op.config.bodies.max_placements
    failures = failed_placements(op.dispute)
    for_supervisors = code in RETURNS_FOR_SUPERVISORS
    cand = next_lead(op, BodyType(failed.body_type), code=code) if failures < limit and not for_supervisors \
        else None
    if cand is None:
        why = ("需督办决定" if for_supervisors else f"已{failures}次分派未成功" if failures >= limit
               else "没有其他可承接的单位")
        returned = {"return_code": code} if code != ReturnReason.OTHER else {}
        op.fire_dispute("route_to_supervisor", extra={"reason": f"{reason}；{why}", "failed_placements": failures,
                                                      **returned})
        return
    place_lead(op, cand.code, cand.body_type, extra={"reason": reason})


def recall(op: Operation, h: Handoff, reason: str) -> None:
    """撤回: the centre takes a handoff back. An agency that already has the file is told to stop,
    through its adapter like any notice; one that never received it gets nothing (its delivery is dropped)."""
    had_it = h.state != HandoffState.OFFERED
    op.fire_handoff(h, "recall", extra={"reason": reason})
    if had_it:
        tell_taken_back(op, h, reason)


def tell_taken_back(op: Operation, h: Handoff, reason: str) -> None:
    """撤回 notice to the agency that holds the referral of a handoff it no longer has: recalled
    after it got it, or reaching it only after it was recalled or given up (a delivery in flight)."""
    op.notify(h, "handoff.recalled", recall_notice(h.id, op.dispute.reference, reason, op.at.isoformat()))
