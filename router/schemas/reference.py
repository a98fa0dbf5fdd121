"""Reference data any signed-in staff may read: categories, divisions, agencies; the audit check."""

from __future__ import annotations

from marshmallow import fields

from router.schemas.common import DIVISION, Out, Strict, derived, dumping


class CategoryOut(Out):
    code = fields.String()
    name = fields.String()
    lead = fields.String()
    tier = fields.String()
    next_on_failure = fields.String(allow_none=True)
    alternatives = fields.List(fields.String())


class DivisionOut(Out):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent = fields.String(allow_none=True)
    has_children = derived(fields.Boolean, lambda d: bool(dumping().config.divisions.children(d.code)))


class DivisionQuery(Strict):
    parent = fields.String(validate=DIVISION)


class AgencyOut(Out):
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


class VerifyOut(Out):
    ok = fields.Boolean()
    events_checked = fields.Integer()
    first_broken = fields.Dict(allow_none=True)
    streams_checked = fields.Integer(metadata={"description": "the chains read this time"})
    mode = fields.String(metadata={"description": "incremental (the chains that moved since their checkpoint) "
                                                  "or full (every chain, from its first event)"})
    broken = fields.List(fields.Dict(), metadata={"description": "every broken link found (at most 20)"})
    broken_count = fields.Integer()
