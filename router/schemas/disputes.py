"""A dispute as staff see it (personal data masked), its lists, queries, actions and timeline."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from router.domain import ids
from router.domain.model import Satisfaction, SupervisorAction, Tier
from router.schemas.common import (
    PERIOD,
    Instant,
    Money,
    Out,
    Strict,
    derived,
    dumping,
    page_number,
    page_of,
    page_size,
    values,
)
from router.schemas.strict_fields import Day, Flag, Name, Note, Text
from router.workflows.dispute import DISPUTE
from router.workflows.handoff import HandoffRole
from router.workflows.sla import clock_stopped, sla_of

SLA = "on_time | warned | overdue | breached"


class Reason(Out):
    rule = fields.String()
    text = fields.String()


class PlacementOut(Out):
    agency = fields.String(allow_none=True)
    body_type = fields.String()
    tier = fields.String(allow_none=True)
    name = fields.String(allow_none=True, metadata={"description": "the agency's name (decisions since 2026-12)"})


class RoutingOut(Out):
    tier = fields.String()
    lead = fields.Nested(PlacementOut)
    assisting = fields.List(fields.Nested(PlacementOut))
    reasons = fields.List(fields.Nested(Reason))
    ruleset_version = fields.String()
    needs_supervisor = fields.Boolean()
    lead_body_types = fields.List(fields.String())


class HandoffOut(Out):
    id = fields.String()
    agency = fields.String(attribute="agency_code")
    body_type = fields.String()
    role = fields.String(validate=validate.OneOf(values(HandoffRole)),
                         metadata={"description": "主办 lead, 协办 assist, 司法确认 confirm"})
    state = fields.String()
    ack_due = Instant(allow_none=True)
    return_due = Instant(allow_none=True)
    handle_due = Instant(allow_none=True)
    designated = fields.Boolean()
    placement = fields.Integer()
    acknowledged_at = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)
    outcome = fields.Raw(allow_none=True)
    returned_reason = fields.String(allow_none=True)
    urged = derived(fields.Integer, lambda h: h.urged or 0)
    sla = derived(fields.String, lambda h: sla_of(h, dumping().now), metadata={"description": SLA})
    escalated_at = Instant(allow_none=True, metadata={"description": "督办: when the ladder escalated it"})
    clock_stopped = derived(fields.Boolean, clock_stopped, metadata={
        "description": "the handling clock is stopped (excluded interval)"})
    created_at = Instant()
    updated_at = Instant()


def _party_name(p: Any) -> str:
    """Family cases show a person as 张某 to staff (routing.yaml `mask_names`, docs/domain.md §9); so do
    the persons a family case brought along when it was merged (并单) into a dispute of another kind."""
    category = dumping().config.ruleset.categories.get(p.dispute.category)
    masked = (category is not None and category.mask_names) or bool(p.mask_name)
    return ids.mask_name(p.name) if masked and p.kind == "person" else p.name


class PartyOut(Out):
    role = fields.String()
    kind = fields.String()
    name = derived(fields.String, _party_name, metadata={"description": "张某 in family cases"})
    division = fields.String(allow_none=True)
    id_number = fields.String(attribute="id_number_masked", allow_none=True,
                              metadata={"description": "masked: 110***********4514"})
    phone = fields.String(attribute="phone_masked", allow_none=True, metadata={"description": "masked: 138****8000"})
    credit_code = fields.String(allow_none=True)
    consent = fields.Boolean(metadata={"description": "agreed to share its ID number and phone with the bodies"})
    sharing_basis = fields.String(allow_none=True, metadata={"description": "without consent: the legal basis"})
    merged_from = fields.String(allow_none=True, metadata={
        "description": "并单: the id of the registration this party came with, merged into this dispute"})


def _duplicate(d: Any) -> dict[str, str] | None:
    return {"id": d.duplicate.id, "reference": d.duplicate.reference} if d.duplicate is not None else None


class LinkOut(Out):
    """联动: a link request and its decision."""

    id = fields.String()
    kind = fields.String(metadata={"description": "assist | expert | transfer"})
    body_type = fields.String()
    reason = fields.String()
    state = fields.String(metadata={"description": "pending | approved | refused | withdrawn"})
    asked_by = fields.String(metadata={"description": "the agency that asked, or the supervisor who added it"})
    handoff_id = fields.String(allow_none=True)
    created_at = Instant()
    decided_at = Instant(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    result_handoff_id = fields.String(allow_none=True, metadata={"description": "the handoff it became"})


def _merged_into(d: Any) -> dict[str, str] | None:
    t = d.merged_target
    return {"id": t.id, "reference": t.reference} if t is not None else None


class DisputeOut(Out):
    id = fields.String()
    reference = fields.String()
    state = fields.String()
    category = fields.String()
    tier = fields.String(allow_none=True)
    source = fields.String()
    source_ref = fields.String(allow_none=True)
    summary = fields.String()
    amount = Money(allow_none=True)
    people_involved = fields.Integer()
    division = fields.String()
    occurred_on = Day(allow_none=True)
    risk_flags = fields.List(fields.String())
    features = fields.List(fields.String())
    wish = fields.String()
    urgency = fields.String(allow_none=True, metadata={"description": "life_safety | utilities"})
    referral = fields.Raw(allow_none=True, metadata={
        "description": "an inbound referral: {agency, body_type, referral_no, details} (the family's own fields)"})
    routing = fields.Nested(RoutingOut, allow_none=True)
    handoffs = fields.List(fields.Nested(HandoffOut))
    parties = fields.List(fields.Nested(PartyOut))
    duplicate_of = derived(fields.Raw, _duplicate, allow_none=True, metadata={
        "description": "{id, reference} of a likely earlier registration of the same dispute"})
    merged_into = derived(fields.Raw, _merged_into, allow_none=True, metadata={
        "description": "并单: {id, reference} of the open dispute this registration was merged into"})
    links = fields.List(fields.Nested(LinkOut), metadata={"description": "联动 requests, oldest first"})
    outcome = fields.Raw(allow_none=True, metadata={"description": "the lead's outcome: result, agreement, "
                                                                   "confirmation, fulfilment"})
    closure = fields.Raw(allow_none=True, metadata={"description": "why and when the centre closed it"})
    created_by = fields.String(allow_none=True, metadata={"description": "who registered it: user:<name> or "
                                                                         "agency:<code>"})
    created_at = Instant()
    updated_at = Instant()


DisputePage = page_of(DisputeOut, "DisputePage")


class DisputeQuery(Strict):
    state = fields.String(validate=validate.OneOf(DISPUTE.states))
    category = fields.String()
    agency = fields.String()
    tier = fields.String(validate=validate.OneOf(values(Tier)))
    overdue = fields.Boolean(metadata={"description": "true: an open handoff is past its acknowledgement or "
                                                       "handling deadline; false: none is"})
    from_ = Day(data_key="from")
    to = Day()
    page = page_number()
    per_page = page_size(20)


class DuplicateDecisionIn(Strict):
    """并单 decisions on a registration held as a likely repeat (docs/api.md §5)."""

    decision = fields.String(required=True, validate=validate.OneOf(("merge", "distinct", "split")), metadata={
        "description": "merge (并单) | distinct (确认非重复: it routes) | split (拆单: undo a merge, then route)"})
    into = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=36), metadata={
        "description": "merge: the open dispute's id (default: the likely earlier registration)"})
    reason = Text(2000, required=True)


class FollowUpIn(Strict):
    """回访, recorded by follow-up staff, a clerk or a supervisor (docs/api.md §5)."""

    satisfaction = fields.String(required=True, validate=validate.OneOf(values(Satisfaction)))
    reason = Text(2000, required=True, metadata={
        "description": "how the visit went (电话回访, 上门回访 ...)"})
    relapse = Flag(load_default=False, metadata={"description": "the dispute flared up again (复发)"})
    note = Note(2000)


class CompletionIn(Strict):
    """补正: what the window completed for a dispute its lead returned as incomplete (材料不全)."""

    note = Text(2000, required=True, metadata={
        "description": "what was completed; appended to the summary, so the body reads it in the referral"})


class PaperHandoverIn(Strict):
    """A clerk handed a paper agency its 委托函 (docs/agency-guide.md §1)."""

    received_by = Name(64, required=True,
                                metadata={"description": "who at the agency took the letter"})
    received_at = fields.AwareDateTime(allow_none=True, load_default=None,
                                       metadata={"description": "when (default: now); not in the future, "
                                                                "not before the offer"})
    acknowledged = Flag(load_default=False, metadata={
        "description": "the receiver also signed for it (签收, recorded on the agency's behalf); alone on a "
                       "handoff already handed over"})


class ActionIn(Strict):
    action = fields.String(required=True, validate=validate.OneOf(values(SupervisorAction)),
                           metadata={"description": "see docs/api.md §5"})
    agency = fields.String(allow_none=True, load_default=None)
    reason = Text(2000, required=True)
    handoff = fields.String(allow_none=True, load_default=None, metadata={"description": "urge: which handoff "
                                                                                         "(default: the open lead)"})
    satisfaction = fields.String(allow_none=True, load_default=None,
                                 validate=validate.OneOf(values(Satisfaction)))
    relapse = Flag(load_default=False)
    note = Note(2000)
    fulfilled_on = Day(allow_none=True, load_default=None)
    period = fields.String(allow_none=True, load_default=None, validate=PERIOD, metadata={
        "description": "extend: how long (e.g. 15c); default: what is left of the body type's cap"})
    link = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=36), metadata={
        "description": "approve_link / refuse_link: the link request's id"})
    body_type = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=32), metadata={
        "description": "add_assist: the assisting body type (or name the `agency`)"})


class TimelineEventOut(Out):
    seq = fields.Integer(attribute="stream_seq")
    type = fields.String()
    actor = fields.String()
    at = Instant(attribute="occurred_at")
    handoff_id = fields.String(allow_none=True)
    data = fields.Raw()


class SpanOut(Out):
    handoff_id = fields.String(attribute="handoff.id")
    agency = fields.String(attribute="handoff.agency_code")
    body_type = fields.String(attribute="handoff.body_type")
    role = fields.String(attribute="handoff.role")
    state = fields.String(attribute="handoff.state")
    offered = Instant()
    delivered = Instant(allow_none=True)
    acknowledged = Instant(allow_none=True)
    outcome = Instant(allow_none=True)
    closed = Instant(allow_none=True)
    ended = Instant(allow_none=True)
    ack_due = Instant(attribute="handoff.ack_due", allow_none=True)
    handle_due = Instant(attribute="handoff.handle_due", allow_none=True)
    to_acknowledge_s = fields.Float(allow_none=True)
    to_outcome_s = fields.Float(allow_none=True)
    duration_s = fields.Float(allow_none=True)
    sla = derived(fields.String, lambda s: sla_of(s.handoff, dumping().now), metadata={"description": SLA})
    escalated_at = Instant(attribute="handoff.escalated_at", allow_none=True)
    returned_reason = fields.String(attribute="handoff.returned_reason", allow_none=True)
    urged = derived(fields.Integer, lambda s: s.handoff.urged or 0)


class TimelineOut(Out):
    dispute_id = fields.String(attribute="dispute.id")
    reference = fields.String(attribute="dispute.reference")
    state = fields.String(attribute="dispute.state")
    events = fields.List(fields.Nested(TimelineEventOut))
    spans = fields.List(fields.Nested(SpanOut))
