"""The one error body of every endpoint (docs/api.md §1)."""

from __future__ import annotations

from marshmallow import fields

from router.schemas.common import Out


class ErrorBody(Out):
    code = fields.String()
    message = fields.String()
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()))
    state = fields.String()


class ErrorOut(Out):
    error = fields.Nested(ErrorBody)
