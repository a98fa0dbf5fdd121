"""The supervisors' queues (督办台): one line per handoff (or dispute) needing attention."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from router.schemas.common import Instant, Out, derived, dumping
from router.workflows.handoff import WAITING, HandoffRole
from router.workflows.sla import sla_of


def _handoff(row: Any) -> Any:
    """The handoff a line is about: its own, or the dispute's latest lead."""
    if row.handoff is not None:
        return row.handoff
    leads = [h for h in row.dispute.handoffs if h.role == HandoffRole.LEAD]
    return leads[-1] if leads else None


def _category_name(row: Any) -> str:
    cat = dumping().config.ruleset.categories.get(row.dispute.category)
    return cat.name if cat else row.dispute.category


def _division_name(row: Any) -> str:
    d = dumping().config.divisions.get(row.dispute.division)
    return d.name if d else row.dispute.division


def _of_handoff(fn: Any) -> Any:
    return lambda row: (fn(h) if (h := _handoff(row)) is not None else None)


class QueueItemOut(Out):
    dispute_id = fields.String(attribute="dispute.id")
    reference = fields.String(attribute="dispute.reference")
    category = fields.String(attribute="dispute.category")
    category_name = derived(fields.String, _category_name)
    dispute_state = fields.String(attribute="dispute.state")
    tier = fields.String(attribute="dispute.tier", allow_none=True)
    division = fields.String(attribute="dispute.division")
    division_name = derived(fields.String, _division_name)
    summary = fields.String(attribute="dispute.summary")
    handoff_id = derived(fields.String, _of_handoff(lambda h: h.id), allow_none=True)
    agency = derived(fields.String, _of_handoff(lambda h: h.agency_code), allow_none=True)
    agency_name = derived(fields.String, _of_handoff(lambda h: dumping().agency_name(h.agency_code)), allow_none=True)
    role = derived(fields.String, _of_handoff(lambda h: h.role), allow_none=True)
    handoff_state = derived(fields.String, _of_handoff(lambda h: h.state), allow_none=True)
    deadline = derived(fields.String, _of_handoff(lambda h: "ack_due" if h.state in WAITING else "handle_due"),
                       allow_none=True, metadata={"description": "which deadline `due` is: ack_due or handle_due"})
    due = Instant(allow_none=True, metadata={"description": "what orders the queue: the running deadline, the "
                                                            "follow-up date, or when the dispute last changed"})
    sla = derived(fields.String, _of_handoff(lambda h: sla_of(h, dumping().now)), allow_none=True)
    urged = derived(fields.Integer, _of_handoff(lambda h: h.urged or 0), allow_none=True)
    escalated_at = derived(Instant, _of_handoff(lambda h: h.escalated_at), allow_none=True)
    updated_at = Instant(attribute="dispute.updated_at")


class QueueOut(Out):
    queue = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Nested(QueueItemOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    refreshed_at = Instant()
