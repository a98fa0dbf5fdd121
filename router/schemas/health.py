"""What the probes answer: liveness, and readiness with each dependency's check."""

from __future__ import annotations

from marshmallow import fields, validate

from router.schemas.common import Out


class HealthOut(Out):
    status = fields.String(required=True, validate=validate.OneOf(["ok"]))


class ReadyOut(Out):
    status = fields.String(required=True, validate=validate.OneOf(["ok", "unavailable"]))
    database = fields.Boolean(required=True)
    broker = fields.Boolean(required=True)
