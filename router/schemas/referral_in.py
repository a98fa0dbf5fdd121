"""The inbound referral (docs/api.md "Agencies": POST /api/v1/intake/referral): the intake body with
the referring body's own number, and each family's own fields (the court's case, the police's 警情,
the petition office's 信访件), checked by the sender's family."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from router.schemas.common import Strict
from router.schemas.intake import DisputeIn
from router.schemas.strict_fields import Day, Flag, Note


class ReferralIn(DisputeIn):
    """The intake fields, with `referral_no` instead of source/source_ref (the source follows the sender)."""

    class Meta:
        exclude = ("source", "source_ref", "disposition")

    referral_no = fields.String(required=True, validate=validate.Length(min=1, max=128), metadata={
        "description": "the referring body's own number: idempotent on (agency, referral_no)"})
    details = fields.Dict(load_default=dict, metadata={
        "description": "the family's own fields: court {case_no, cause, mediation_days}; police {incident_no, "
                       "violence}; petition {petition_no, notify_by}"})


class CourtDetailsIn(Strict):
    case_no = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={"description": "案号"})
    cause = Note(128,
                          metadata={"description": "案由"})
    mediation_days = fields.Integer(load_default=15, strict=True, validate=validate.Range(min=1, max=45), metadata={
        "description": "委托调解期限 in days (15, extended by consent up to 45)"})


class PoliceDetailsIn(Strict):
    incident_no = fields.String(required=True, validate=validate.Length(min=1, max=64),
                                metadata={"description": "警情编号"})
    violence = Flag(load_default=False, metadata={"description": "the incident involved violence"})


class PetitionDetailsIn(Strict):
    petition_no = fields.String(required=True, validate=validate.Length(min=1, max=64),
                                metadata={"description": "信访件编号"})
    notify_by = Day(allow_none=True, load_default=None, metadata={"description": "受理告知 deadline"})


class NoDetailsIn(Strict):
    """Families without fields of their own (procuratorate, labour arbitration, 12345)."""


DETAILS_BY_BODY: dict[str, type[Schema]] = {"court": CourtDetailsIn, "police": PoliceDetailsIn,
                                            "petition": PetitionDetailsIn}


def load_details(body_type: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The sender family's fields, checked (marshmallow's ValidationError names each, under `details`)."""
    loaded = DETAILS_BY_BODY.get(body_type, NoDetailsIn)().load(raw or {})
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in loaded.items()}
