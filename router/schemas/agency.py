"""What a partner agency sends (its reports) and gets back (its handoffs), docs/agency-guide.md §4-5."""

from __future__ import annotations

from marshmallow import fields, validate

from router.domain.linkage import LinkKind
from router.domain.model import OutcomeResult, ReportType, ReturnReason
from router.schemas.common import PERIOD, Instant, Money, Out, Strict, page_number, page_of, page_size, values
from router.schemas.disputes import HandoffOut
from router.schemas.strict_fields import Day, Flag, Note, Text
from router.workflows.handoff import HandoffState


class AgreementIn(Strict):
    terms = Text(8000, required=True)
    amount = Money(allow_none=True, load_default=None)
    fulfil_by = Day(allow_none=True, load_default=None)
    judicial_confirmation = Flag(load_default=False, metadata={
        "description": "extension: the parties jointly apply for judicial confirmation (司法确认)"})


class OutcomeIn(Strict):
    result = fields.String(required=True, validate=validate.OneOf(values(OutcomeResult)), metadata={
        "description": "agreement | failed | withdrawn; opinion: an expert panel's 调解意见书 (its only outcome)"})
    agreement = fields.Nested(AgreementIn, allow_none=True, load_default=None)
    opinion = Note(20000, metadata={
        "description": "result opinion: the text of the 调解意见书"})


class LinkIn(Strict):
    """联动: what the lead asks for mid-case (docs/agency-guide.md §5)."""

    kind = fields.String(required=True, validate=validate.OneOf(values(LinkKind)), metadata={
        "description": "assist (an assisting body) | expert (the 专家库's 调解意见书) | transfer (建议转派)"})
    body_type = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=32), metadata={
        "description": "assist: police, legal_aid or a mediation body; transfer: the body type to take the lead; "
                       "expert: expert_panel (default)"})
    reason = Text(2000, required=True)


class FulfilmentIn(Strict):
    fulfilled_on = Day(required=True)
    note = Note(2000)


class ExtensionIn(Strict):
    period = fields.String(allow_none=True, load_default=None, validate=PERIOD)
    reason = Text(2000, required=True)


class SuspensionIn(Strict):
    action = fields.String(required=True, validate=validate.OneOf(("start", "end")))
    reason = Text(2000, required=True)


class AgencyEventIn(Strict):
    handoff_id = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "the handoff in the path: what binds the signed body to it (docs/agency-guide.md §2)"})
    event_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    type = fields.String(required=True, validate=validate.OneOf(values(ReportType)))
    occurred_at = fields.AwareDateTime(allow_none=True, load_default=None)
    reason = Note(2000)
    basis = Note(2000)
    reason_code = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(values(ReturnReason)),
                                metadata={"description": "returned only: why, as a code that decides where the "
                                                         "dispute goes next (default other)"})
    note = Note(4000)
    outcome = fields.Nested(OutcomeIn, allow_none=True, load_default=None)
    fulfilment = fields.Nested(FulfilmentIn, allow_none=True, load_default=None, metadata={
        "description": "extension: the lead reports the agreement performed (履行完毕), on progress or closed"})
    extension = fields.Nested(ExtensionIn, allow_none=True, load_default=None, metadata={
        "description": "extension (progress only): 延期 by the parties' consent, capped per body type"})
    suspension = fields.Nested(SuspensionIn, allow_none=True, load_default=None, metadata={
        "description": "extension (progress only): start/end an excluded interval, e.g. medical appraisal"})
    link = fields.Nested(LinkIn, allow_none=True, load_default=None, metadata={
        "description": "link_request only: an assisting body, an expert opinion or a transfer (联动)"})


class AgencyHandoffOut(HandoffOut):
    reference = fields.String(attribute="dispute.reference")
    category = fields.String(attribute="dispute.category")
    summary = fields.String(attribute="dispute.summary")
    dispute_state = fields.String(attribute="dispute.state")
    division = fields.String(attribute="dispute.division")
    referral = fields.Raw(allow_none=True, dump_default=None, metadata={
        "description": "the body type's handoff payload, parties unmasked; null once the handoff was returned, "
                       "expired, undeliverable or recalled"})


AgencyHandoffPage = page_of(AgencyHandoffOut, "AgencyHandoffPage")


class AgencyHandoffQuery(Strict):
    state = fields.String(allow_none=True, load_default=None,
                          validate=validate.OneOf([s for s in values(HandoffState) if s != "new"]))
    page = page_number()
    per_page = page_size(50)


class FeedQuery(Strict):
    since = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1),  # feed_seq is an INTEGER
                           metadata={"description": "the cursor of the last item you processed (0: from the start)"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class FeedItemOut(Out):
    cursor = fields.Integer(metadata={"description": "pass it as `since` to get what came after"})
    kind = fields.String(metadata={"description": "handoff.offered, handoff.urged, handoff.recalled, hotline.status, "
                                                  "hotline.reply, link.decided, handoff.supervised, referral.status, "
                                                  "referral.result"})
    handoff_id = fields.String(allow_none=True)
    created_at = Instant()
    state = fields.String(allow_none=True, dump_default=None,
                          metadata={"description": "handoff.offered: the handoff's state now"})
    payload = fields.Raw(allow_none=True, metadata={
        "description": "what the push carries (contracts/); null for a referral no longer yours"})


class FeedOut(Out):
    items = fields.List(fields.Nested(FeedItemOut))
    next = fields.Integer(metadata={"description": "the cursor to ask from next time"})


class AgencyEventOut(Out):
    event_id = fields.String()
    type = fields.String()
    handoff = fields.Nested(AgencyHandoffOut)
    recorded_at = Instant()
