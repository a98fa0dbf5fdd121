"""The intake body (受理登记), as a clerk, a hotline work order or a script sends it, and the
command it becomes."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from router.domain.clocks import Urgency
from router.domain.disposition import Disposition, DispositionKind, NotAcceptedReason
from router.domain.intake import IntakeCommand
from router.domain.model import Feature, Party, PartyKind, PartyRole, RiskFlag, Source, Wish
from router.domain.sharing import SharingBasis
from router.schemas.common import DIVISION, Instant, Money, Out, Strict, values
from router.schemas.disputes import RoutingOut
from router.schemas.strict_fields import Day, Flag, Name, Note, Text


class PartyIn(Strict):
    role = fields.String(required=True, validate=validate.OneOf(values(PartyRole)))
    kind = fields.String(load_default="person", validate=validate.OneOf(values(PartyKind)))
    name = Name(128, required=True)
    id_number = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=32))
    phone = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=32))
    credit_code = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=32))
    division = fields.String(allow_none=True, load_default=None, validate=DIVISION)
    consent = Flag(load_default=True, metadata={
        "description": "the party agreed that the bodies handling the case get its ID number and phone"})
    sharing_basis = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(values(SharingBasis)),
                                  metadata={"description": "without consent: police_report (110 警情), "
                                                           "court_referral, legal_duty, emergency"})


class DispositionIn(Strict):
    """Decided at the window instead of dispatching (docs/domain.md §8)."""

    type = fields.String(required=True, validate=validate.OneOf(values(DispositionKind)), metadata={
        "description": "not_accepted (不予受理: reason_code, refer_to) | resolved_on_spot (当场化解: terms)"})
    reason_code = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(values(NotAcceptedReason)))
    reason = Note(2000)
    refer_to = Note(500, metadata={
        "description": "where the 告知书 sends the party; default: the reason code's own text"})
    terms = Note(4000)
    amount = Money(allow_none=True, load_default=None)
    fulfil_by = Day(allow_none=True, load_default=None)
    fulfilled = Flag(load_default=False, metadata={"description": "performed at the window already"})


class DisputeIn(Strict):
    source = fields.String(required=True, validate=validate.OneOf(values(Source)))
    source_ref = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=128))
    category = fields.String(required=True, validate=validate.Length(min=1, max=48))
    summary = Text(4000, required=True)
    amount = Money(allow_none=True, load_default=None)
    people_involved = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=100000))
    division = fields.String(required=True, validate=DIVISION)
    occurred_on = Day(allow_none=True, load_default=None)
    risk_flags = fields.List(fields.String(validate=validate.OneOf(values(RiskFlag))), load_default=list)
    features = fields.List(fields.String(validate=validate.OneOf(values(Feature))), load_default=list,
                           metadata={"description": "extension: title_dispute, fight_injury (docs/domain.md §4)"})
    wish = fields.String(load_default="unspecified", validate=validate.OneOf(values(Wish)))
    parties = fields.List(fields.Nested(PartyIn), required=True, validate=validate.Length(min=1, max=200))
    disposition = fields.Nested(DispositionIn, allow_none=True, load_default=None)
    urgency = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(values(Urgency)), metadata={
        "description": "life_safety (15 min to 签收) | utilities (30 min): a 12345 order's urgency"})


class HotlineIn(DisputeIn):
    """A 12345 work order: the intake fields, with the work-order number instead of source/source_ref."""

    class Meta:
        exclude = ("source", "source_ref", "disposition")

    work_order_no = fields.String(required=True, validate=validate.Length(min=1, max=128))


class DuplicateOut(Out):
    """A likely earlier registration of the same matter."""

    id = fields.String()
    reference = fields.String()
    state = fields.String()
    category = fields.String()
    created_at = Instant()


class PreviewOut(Out):
    routing = fields.Nested(RoutingOut)
    likely_duplicates = fields.List(fields.Nested(DuplicateOut), metadata={
        "description": "是否已登记？ the same applicant, respondent and category within 30 days, newest first"})


def intake_command(data: dict[str, Any]) -> IntakeCommand:
    """A loaded DisputeIn as the domain's command."""
    return IntakeCommand(
        source=Source(data["source"]), source_ref=data.get("source_ref"), category=data["category"],
        summary=data["summary"], amount=data.get("amount"), people_involved=data.get("people_involved", 1),
        division=data["division"], occurred_on=data.get("occurred_on"),
        risk_flags=frozenset(RiskFlag(f) for f in data.get("risk_flags", ())),
        features=frozenset(Feature(f) for f in data.get("features", ())), wish=Wish(data.get("wish", "unspecified")),
        parties=tuple(Party(role=PartyRole(p["role"]), kind=PartyKind(p.get("kind", "person")), name=p["name"],
                            division=p.get("division"), id_number=p.get("id_number"), phone=p.get("phone"),
                            credit_code=p.get("credit_code"), consent=p.get("consent", True),
                            sharing_basis=p.get("sharing_basis")) for p in data["parties"]),
        disposition=_disposition(data.get("disposition")), urgency=data.get("urgency"),
    )


def _disposition(data: dict[str, Any] | None) -> Disposition | None:
    if not data:
        return None
    code = data.get("reason_code")
    return Disposition(kind=DispositionKind(data["type"]), reason_code=NotAcceptedReason(code) if code else None,
                       reason=data.get("reason"), refer_to=data.get("refer_to"), terms=data.get("terms"),
                       amount=data.get("amount"), fulfil_by=data.get("fulfil_by"),
                       fulfilled=data.get("fulfilled", False))
