"""Messages the router owes the source of a dispute: a 12345 work order hears of every step and
gets its final reply (回单) through the hotline adapter, via the outbox like any delivery."""

from __future__ import annotations

from datetime import datetime

from router.adapters import hotline_12345
from router.store.models import Dispute
from router.store.uow import UnitOfWork
from router.workflows.engine import Fired

QUIET_STATES = frozenset({"received", "routed"})  # internal steps inside one intake transaction
FINAL_STATES = frozenset({"closed", "not_accepted", "merged"})  # the work order gets its 回单


def hotline_agency(d: Dispute) -> str | None:
    """The hotline agency whose work order this dispute came from, if it did."""
    if d.source != "hotline" or not d.source_ref or not (d.created_by or "").startswith("agency:"):
        return None
    return (d.created_by or "").split(":", 1)[1]


def after_dispute_transition(uow: UnitOfWork, d: Dispute, fired: Fired, at: datetime) -> None:
    agency = hotline_agency(d)
    if agency is None or fired.dest in QUIET_STATES:
        return
    ref = d.source_ref or ""
    if fired.dest in FINAL_STATES:
        payload = hotline_12345.final_reply(ref, d.reference, at.isoformat(), dict(d.closure or {}),
                                            dict(d.outcome or {}) or None)
        kind = "hotline.reply"
    else:
        detail = {"trigger": fired.trigger, "lead_agency": d.lead_agency}
        payload = hotline_12345.status_notice(ref, d.reference, fired.dest, at.isoformat(), detail)
        kind = "hotline.status"
    uow.add_message(kind, "hotline_12345", {**payload, "agency": agency}, at=at, dispute_id=d.id)
