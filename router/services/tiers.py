"""分级调处时限 (docs/domain.md §6): when a boxed tier's time runs out and its lead has no outcome,
the dispute is lifted (上交) to the same body type one tier up (不上交 only when it was solved), the
reason on its timeline; with no agency there, the supervisors decide."""

from __future__ import annotations

from router.domain.model import TIER_NAMES_ZH, BodyType, Tier
from router.domain.rules import next_candidate
from router.services.dispatch import place_lead, recall, tried
from router.services.facts import facts_of
from router.services.operation import Operation
from router.store.models import Handoff
from router.workflows.dispute import DISPUTE


def lift(op: Operation, h: Handoff) -> bool:
    """The tier's box ran out on lead `h`: lift it. False when the dispute is past needing it."""
    d = op.dispute
    if "reroute" not in DISPUTE.triggers_from(d.state):
        return False
    current = Tier(op.tier_of(h.agency_code) or d.tier or Tier.TOWN)
    box = op.config.bodies.time_boxes.get(current)
    up = current.up()
    reason = (f"{TIER_NAMES_ZH[current]}层级{box.describe_zh() if box else ''}内未化解，"
              f"依分级调处时限上交{TIER_NAMES_ZH[up] if up else '上级'}")
    cand = next_candidate(facts_of(d), [BodyType(h.body_type)], up, op.ctx.registry(), tried(d)) if up else None
    op = op.by_system()
    recall(op, h, reason)
    if cand is None:
        op.fire_dispute("route_to_supervisor", extra={"reason": f"{reason}，但上一层级没有可承接的单位",
                                                      "action": "lift"})
        return True
    d.tier = str(cand.tier)
    place_lead(op, cand.code, cand.body_type, extra={"reason": reason, "action": "lift", "from_tier": str(current),
                                                     "to_tier": str(cand.tier)})
    return True
