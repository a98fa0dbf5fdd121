"""The figures of a dispute and of each of its handoffs, folded from the dispute's audit events
(docs/reports.md §2). Pure functions: an event in, the columns it changes out.

Reports count rows of these two read models, never the event log itself. The service layer applies
each change in the transaction that appends the event, and `reports rebuild` replays the log through
the same functions, so the figures are what happened, not counters that could drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from router.domain.model import RiskFlag, Satisfaction, Tier

# A dispute is concluded by an agreement (resolved) or by a closure that ends it without one
# (failed); withdrawn, merged and not-accepted disputes are not concluded (docs/reports.md §1).
FAILED_CLOSURES = frozenset({"guided_to_litigation", "failed", "closed_by_centre", "returned_to_court"})
LOCAL_TIERS = frozenset({Tier.GRID, Tier.VILLAGE, Tier.TOWN})
ESCALATION_RISKS = frozenset({RiskFlag.VIOLENCE_THREAT, RiskFlag.GROUP})
# The flags an open dispute raises an early warning for (docs/reports.md §5).
ALERT_FLAGS = frozenset({RiskFlag.VIOLENCE_THREAT, RiskFlag.GROUP, RiskFlag.DOMESTIC_VIOLENCE, RiskFlag.SELF_HARM})
SATISFIED = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED})

DISPUTE_EVENTS = frozenset({"dispute.registered", "dispute.agree", "dispute.resolve_on_spot", "dispute.close",
                            "dispute.fulfil", "dispute.not_accept", "dispute.merge", "dispute.split"})
HANDOFF_EVENTS = frozenset({"handoff.offer", "handoff.acknowledge", "handoff.deadline_moved",
                            "handoff.clock_stopped", "handoff.complete", "handoff.return_", "handoff.expire",
                            "handoff.fail_delivery", "handoff.recall"})
FOLLOW_UP_EVENT = "dispute.follow_up_recorded"
ENDINGS = {"handoff.return_": "returned", "handoff.expire": "expired", "handoff.fail_delivery": "undeliverable",
           "handoff.recall": "recalled"}

TierOf = Callable[[str], str | None]


def dispute_changes(type: str, data: Mapping[str, Any], on: date, tier_of: TierOf,
                    resolved: bool) -> dict[str, Any]:
    """The dispute figures' columns that event `type` (on local date `on`) sets. `resolved`: the row
    already holds an agreement (a later closure does not turn it into a failure)."""
    if type == "dispute.registered":
        flags = set(data.get("risk_flags") or ())
        return {"registered_on": on, "category": data["category"], "source": data["source"],
                "division": data["division"], "flagged": bool(flags),
                "escalation_risk": bool(flags & ESCALATION_RISKS), "claimed": money(data.get("amount")),
                "alert_flags": ",".join(sorted(flags & ALERT_FLAGS)) or None}
    if type in ("dispute.agree", "dispute.resolve_on_spot"):  # 当场化解 is an agreement at the window's tier
        # a new agreement (after a relapse) is not yet performed: fulfilment starts again
        agency = data.get("agency")
        amount = money((data.get("agreement") or {}).get("amount"))
        return {"resolved_on": on, "failed_on": None, "concluded_on": on, "agency": agency,
                "tier": tier_at(data, tier_of), "agreed_amount": amount, "fulfilled_on": None}
    if type == "dispute.close":
        code = data.get("closure")
        changes: dict[str, Any] = {"closure": code, "closed_on": on}
        # A held repeat closed instead of merged was never mediated: not a failure either.
        if code in FAILED_CLOSURES and not resolved and data.get("from") != "held_duplicate":
            changes.update(failed_on=on, concluded_on=on)
        return changes
    if type == "dispute.not_accept":  # ended, not concluded (docs/reports.md §1)
        return {"closure": "not_accepted", "closed_on": on}
    if type == "dispute.merge":  # 并单: part of another dispute now; 拆单 makes it its own again
        return {"closure": "merged", "closed_on": on}
    if type == "dispute.split":
        return {"closure": None, "closed_on": None}
    if type == "dispute.fulfil":
        fulfilled = data.get("fulfilled_on")
        return {"fulfilled_on": date.fromisoformat(fulfilled) if isinstance(fulfilled, str) else on}
    return {}


def lead_changes(type: str, data: Mapping[str, Any], tier_of: TierOf) -> dict[str, Any]:
    """A new lead placement moves the dispute's agency and tier (the one that decides it, in the end)."""
    if type == "handoff.offer" and data.get("role") == "lead":
        return {"agency": data["agency"], "tier": tier_at(data, tier_of)}
    return {}


def tier_at(data: Mapping[str, Any], tier_of: TierOf) -> str | None:
    """The agency's tier when the event happened (the event names it), so a later change of the
    registry never rewrites past figures; events from before the field existed ask the registry."""
    if data.get("tier"):
        return str(data["tier"])
    return tier_of(data["agency"]) if data.get("agency") else None


def confirmation_changes(type: str, data: Mapping[str, Any], on: date) -> dict[str, Any]:
    """司法确认: a court's confirming handoff reported the agreement confirmed."""
    if type == "handoff.complete" and data.get("role") == "confirm" \
            and (data.get("outcome") or {}).get("result") == "agreement":
        return {"confirmed_on": on}
    return {}


def handoff_changes(type: str, data: Mapping[str, Any], at: datetime, on: date,
                    tier_of: TierOf) -> dict[str, Any]:
    """The handoff figures' columns that event `type` (at `at`, local date `on`) sets."""
    if type == "handoff.offer":
        return {"role": data.get("role", "lead"), "agency": data["agency"], "tier": tier_at(data, tier_of),
                "offered_at": at, "offered_on": on, "ack_due": instant(data.get("ack_due"))}
    if type == "handoff.acknowledge":
        return {"acknowledged_at": at, "acked_on": on, "handle_due": instant(data.get("handle_due"))}
    if type == "handoff.deadline_moved" and data.get("deadline", "handle_due") == "handle_due":
        # Only the end of an excluded interval restarts a stopped clock; an extension granted while it
        # is stopped moves the deadline and leaves it stopped (router/services/clock.py).
        moved: dict[str, Any] = {"handle_due": instant(data.get("to"))}
        return moved | ({"stopped": False} if data.get("why") == "excluded_interval" else {})
    if type == "handoff.clock_stopped":
        return {"stopped": True}
    if type == "handoff.complete":
        return {"outcome_at": at, "outcome_on": on, "outcome_result": (data.get("outcome") or {}).get("result")}
    if type in ENDINGS:
        return {"ended_at": at, "ended_on": on, "end_state": ENDINGS[type]}
    return {}


def follow_up_of(data: Mapping[str, Any], on: date) -> dict[str, Any]:
    return {"recorded_on": on, "satisfaction": data.get("satisfaction"),
            "satisfied": data.get("satisfaction") in SATISFIED}


def money(v: Any) -> Decimal | None:
    if v in (None, ""):
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return None


def instant(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v
    return datetime.fromisoformat(v) if isinstance(v, str) and v else None
