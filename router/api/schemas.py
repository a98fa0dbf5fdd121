"""marshmallow schemas of API.md; unknown fields are rejected (marshmallow's RAISE)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from router.domain.model import Feature, PartyKind, PartyRole, RiskFlag, Source, Wish
from router.workflows.dispute import DISPUTE

DIVISION = validate.Regexp(r"^\d{12}$", error="String does not match expected pattern.")
MAX_AMOUNT = Decimal("99999999999999.99")  # the column is Numeric(16, 2)


class Money(fields.Decimal):
    """CNY as a decimal string ("12000.00"), taken exactly: a third decimal place is refused, never rounded."""

    default_error_messages = {"places": "At most two decimal places."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"pattern": r"^\d+(\.\d{1,2})?$", "example": "12000.00"})
        super().__init__(places=2, as_string=True, allow_nan=False,
                         validate=validate.Range(min=0, max=MAX_AMOUNT), **kwargs)

    def _format_num(self, value: Any) -> Decimal:
        num = Decimal(str(value))
        if num.is_finite() and num.as_tuple().exponent < -2 and num != num.quantize(Decimal("0.01")):
            raise self.make_error("places")
        return super()._format_num(num)


def _values(enum: Any) -> list[str]:
    return [e.value for e in enum]


class Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class PartyIn(Strict):
    role = fields.String(required=True, validate=validate.OneOf(_values(PartyRole)))
    kind = fields.String(load_default="person", validate=validate.OneOf(_values(PartyKind)))
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    id_number = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=32))
    phone = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=32))
    credit_code = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=32))
    division = fields.String(allow_none=True, load_default=None, validate=DIVISION)


class DisputeIn(Strict):
    source = fields.String(required=True, validate=validate.OneOf(_values(Source)))
    source_ref = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=128))
    category = fields.String(required=True, validate=validate.Length(min=1, max=48))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    amount = Money(allow_none=True, load_default=None)
    people_involved = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=100000))
    division = fields.String(required=True, validate=DIVISION)
    occurred_on = fields.Date(allow_none=True, load_default=None)
    risk_flags = fields.List(fields.String(validate=validate.OneOf(_values(RiskFlag))), load_default=list)
    features = fields.List(fields.String(validate=validate.OneOf(_values(Feature))), load_default=list,
                           metadata={"description": "extension: title_dispute, fight_injury (DOMAIN.md notes)"})
    wish = fields.String(load_default="unspecified", validate=validate.OneOf(_values(Wish)))
    parties = fields.List(fields.Nested(PartyIn), required=True, validate=validate.Length(min=1, max=200))


class Reason(Schema):
    rule = fields.String()
    text = fields.String()


class PlacementOut(Schema):
    agency = fields.String(allow_none=True)
    body_type = fields.String()
    tier = fields.String(allow_none=True)


class RoutingOut(Schema):
    tier = fields.String()
    lead = fields.Nested(PlacementOut)
    assisting = fields.List(fields.Nested(PlacementOut))
    reasons = fields.List(fields.Nested(Reason))
    ruleset_version = fields.String()
    needs_supervisor = fields.Boolean()
    lead_body_types = fields.List(fields.String())


class HandoffOut(Schema):
    id = fields.String()
    agency = fields.String()
    body_type = fields.String()
    role = fields.String(metadata={"description": "lead | assist"})
    state = fields.String()
    ack_due = fields.String(allow_none=True)
    return_due = fields.String(allow_none=True)
    handle_due = fields.String(allow_none=True)
    designated = fields.Boolean()
    placement = fields.Integer()
    acknowledged_at = fields.String(allow_none=True)
    completed_at = fields.String(allow_none=True)
    outcome = fields.Raw(allow_none=True)
    returned_reason = fields.String(allow_none=True)
    urged = fields.Integer()
    sla = fields.String(metadata={"description": "on_time | warned | overdue | breached"})
    escalated_at = fields.String(allow_none=True, metadata={"description": "督办: when the ladder escalated it"})
    clock_stopped = fields.Boolean(metadata={"description": "the handling clock is stopped (excluded interval)"})
    created_at = fields.String()
    updated_at = fields.String()


class PartyOut(Schema):
    role = fields.String()
    kind = fields.String()
    name = fields.String()
    division = fields.String(allow_none=True)
    id_number = fields.String(allow_none=True, metadata={"description": "masked: 110***********4514"})
    phone = fields.String(allow_none=True, metadata={"description": "masked: 138****8000"})
    credit_code = fields.String(allow_none=True)


class DisputeOut(Schema):
    id = fields.String()
    reference = fields.String()
    state = fields.String()
    category = fields.String()
    tier = fields.String(allow_none=True)
    source = fields.String()
    source_ref = fields.String(allow_none=True)
    summary = fields.String()
    amount = fields.String(allow_none=True)
    people_involved = fields.Integer()
    division = fields.String()
    occurred_on = fields.String(allow_none=True)
    risk_flags = fields.List(fields.String())
    features = fields.List(fields.String())
    wish = fields.String()
    routing = fields.Nested(RoutingOut, allow_none=True)
    handoffs = fields.List(fields.Nested(HandoffOut))
    parties = fields.List(fields.Nested(PartyOut))
    duplicate_of = fields.Raw(allow_none=True, metadata={"description": "{id, reference} of a likely earlier "
                                                                         "registration of the same dispute"})
    outcome = fields.Raw(allow_none=True, metadata={"description": "the lead's outcome: result, agreement, "
                                                                   "confirmation, fulfilment"})
    closure = fields.Raw(allow_none=True, metadata={"description": "why and when the centre closed it"})
    created_at = fields.String()
    updated_at = fields.String()


class DisputePage(Schema):
    items = fields.List(fields.Nested(DisputeOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class DisputeQuery(Strict):
    state = fields.String(validate=validate.OneOf(DISPUTE.states))
    category = fields.String()
    agency = fields.String()
    tier = fields.String(validate=validate.OneOf(["grid", "village", "town", "district", "city"]))
    overdue = fields.Boolean(metadata={"description": "true: an open handoff is past its acknowledgement or "
                                                       "handling deadline; false: none is"})
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


ACTIONS = ("reroute", "designate", "urge", "escalate", "withdraw", "close", "reopen", "record_follow_up",
           "record_fulfilment", "request_confirmation", "extend")
PERIOD = validate.Regexp(r"^\s*\d+\s*(c|w|h|min|s)\s*$", error="String does not match expected pattern.")
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")


class ActionIn(Strict):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS),
                           metadata={"description": "API.md's actions plus record_fulfilment and "
                                                    "request_confirmation (司法确认)"})
    agency = fields.String(allow_none=True, load_default=None)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    handoff = fields.String(allow_none=True, load_default=None, metadata={"description": "urge: which handoff "
                                                                                         "(default: the open lead)"})
    satisfaction = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(SATISFACTION))
    relapse = fields.Boolean(load_default=False)
    note = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    fulfilled_on = fields.Date(allow_none=True, load_default=None)
    period = fields.String(allow_none=True, load_default=None, validate=PERIOD, metadata={
        "description": "extend: how long (e.g. 15c); default: what is left of the body type's cap"})


# --------------------------------------------------------------------------- agencies
EVENT_TYPES = ("acknowledged", "returned", "progress", "outcome", "closed")


class AgreementIn(Strict):
    terms = fields.String(required=True, validate=validate.Length(min=1, max=8000))
    amount = Money(allow_none=True, load_default=None)
    fulfil_by = fields.Date(allow_none=True, load_default=None)
    judicial_confirmation = fields.Boolean(load_default=False, metadata={
        "description": "extension: the parties jointly apply for judicial confirmation (司法确认)"})


class OutcomeIn(Strict):
    result = fields.String(required=True, validate=validate.OneOf(("agreement", "failed", "withdrawn")))
    agreement = fields.Nested(AgreementIn, allow_none=True, load_default=None)


class FulfilmentIn(Strict):
    fulfilled_on = fields.Date(required=True)
    note = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))


class ExtensionIn(Strict):
    period = fields.String(allow_none=True, load_default=None, validate=PERIOD)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class SuspensionIn(Strict):
    action = fields.String(required=True, validate=validate.OneOf(("start", "end")))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AgencyEventIn(Strict):
    event_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    occurred_at = fields.AwareDateTime(allow_none=True, load_default=None)
    reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    basis = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    note = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=4000))
    outcome = fields.Nested(OutcomeIn, allow_none=True, load_default=None)
    fulfilment = fields.Nested(FulfilmentIn, allow_none=True, load_default=None, metadata={
        "description": "extension: the lead reports the agreement performed (履行完毕), on progress or closed"})
    extension = fields.Nested(ExtensionIn, allow_none=True, load_default=None, metadata={
        "description": "extension (progress only): 延期 by the parties' consent, capped per body type"})
    suspension = fields.Nested(SuspensionIn, allow_none=True, load_default=None, metadata={
        "description": "extension (progress only): start/end an excluded interval, e.g. medical appraisal"})


class AgencyHandoffOut(HandoffOut):
    reference = fields.String()
    category = fields.String()
    summary = fields.String()
    dispute_state = fields.String()
    division = fields.String()
    referral = fields.Raw(allow_none=True, metadata={
        "description": "the body type's handoff payload, parties unmasked; null once the handoff was returned, "
                       "expired, undeliverable or recalled"})


class AgencyHandoffPage(Schema):
    items = fields.List(fields.Nested(AgencyHandoffOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class AgencyHandoffQuery(Strict):
    state = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(
        ("offered", "delivered", "acknowledged", "in_progress", "completed", "closed", "returned", "expired",
         "undeliverable", "recalled")))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AgencyEventOut(Schema):
    event_id = fields.String()
    type = fields.String()
    handoff = fields.Nested(AgencyHandoffOut)
    recorded_at = fields.String()


class HotlineIn(DisputeIn):
    """A 12345 work order: the intake fields, with the work-order number instead of source/source_ref."""

    class Meta:
        exclude = ("source", "source_ref")

    work_order_no = fields.String(required=True, validate=validate.Length(min=1, max=128))


class CategoryOut(Schema):
    code = fields.String()
    name = fields.String()
    lead = fields.String()
    tier = fields.String()
    next_on_failure = fields.String(allow_none=True)
    alternatives = fields.List(fields.String())


class DivisionOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent = fields.String(allow_none=True)
    has_children = fields.Boolean()


class DivisionQuery(Strict):
    parent = fields.String(validate=DIVISION)


class AgencyOut(Schema):
    code = fields.String()
    name = fields.String()
    body_type = fields.String()
    tier = fields.String()
    jurisdiction = fields.List(fields.String())
    active = fields.Boolean()


class AgencyQuery(Strict):
    body_type = fields.String()
    tier = fields.String()
    division = fields.String(validate=DIVISION)


class ErrorBody(Schema):
    code = fields.String()
    message = fields.String()
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()))
    state = fields.String()


class ErrorOut(Schema):
    error = fields.Nested(ErrorBody)


class VerifyOut(Schema):
    ok = fields.Boolean()
    events_checked = fields.Integer()
    first_broken = fields.Dict(allow_none=True)


class TimelineEventOut(Schema):
    seq = fields.Integer()
    type = fields.String()
    actor = fields.String()
    at = fields.String()
    handoff_id = fields.String(allow_none=True)
    data = fields.Raw()


class SpanOut(Schema):
    handoff_id = fields.String()
    agency = fields.String()
    body_type = fields.String()
    role = fields.String()
    state = fields.String()
    offered = fields.String()
    delivered = fields.String(allow_none=True)
    acknowledged = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    closed = fields.String(allow_none=True)
    ended = fields.String(allow_none=True)
    ack_due = fields.String(allow_none=True)
    handle_due = fields.String(allow_none=True)
    to_acknowledge_s = fields.Float(allow_none=True)
    to_outcome_s = fields.Float(allow_none=True)
    duration_s = fields.Float(allow_none=True)
    sla = fields.String(metadata={"description": "on_time | warned | overdue | breached"})
    escalated_at = fields.String(allow_none=True)
    returned_reason = fields.String(allow_none=True)
    urged = fields.Integer()


class TimelineOut(Schema):
    dispute_id = fields.String()
    reference = fields.String()
    state = fields.String()
    events = fields.List(fields.Nested(TimelineEventOut))
    spans = fields.List(fields.Nested(SpanOut))
