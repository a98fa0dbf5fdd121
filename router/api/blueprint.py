"""The blueprint every JSON endpoint uses: strict query strings, answers documented by their schema
(the services dump them), and the error answers declared once as components (docs/api.md §1)."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import Schema

from router.api.json_body import Parser

# The one description of each error answer; every endpoint refers to these by name.
ERRORS: dict[int, str] = {
    400: "malformed JSON",
    401: "no or bad credentials: a staff bearer token, or an agency's Standard Webhooks signature",
    403: "the caller's role (or agency) may not do this",
    404: "unknown, or not the caller's to see",
    409: "conflicts with the current state (the body says which), or a reused idempotency key",
    413: "body over the limit",
    415: "not JSON",
    422: "schema or domain validation: `fields` names each field and why",
}


def error_name(status: int) -> str:
    return http.HTTPStatus(status).name


class Blueprint(SmorestBlueprint):
    # webargs drops unknown query parameters by default; unknown=None lets each schema's RAISE apply,
    # so `?colour=red` or a misspelt filter is a 422 naming it instead of a silently wider answer.
    ARGUMENTS_PARSER = Parser(unknown=None)

    def arguments(self, schema: Schema | type[Schema], **kwargs: Any) -> Callable[[Any], Any]:
        """Parse the arguments with one schema instance, built here: given a class, webargs builds
        an instance for every request, deep-copying its fields (5 % of an intake, bench/intake.py)."""
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)

    def answers(self, status: int, schema: Schema | type[Schema]) -> Callable[[Any], Any]:
        """Document the success answer. The service already dumped it with this schema, so the
        view returns it as it is: dumping twice would read the rows' names off an answer."""
        return self.alt_response(status, schema=schema, success=True)

    def tables(self, schema: Schema | type[Schema], mimetypes: dict[str, str]) -> Callable[[Any], Any]:
        """Document that the success answer (`schema`, in JSON) also comes as a table file
        (`?format=csv|xlsx`, or `Accept: text/csv`): each media type beside the JSON one."""
        content: dict[str, Any] = {"application/json": {"schema": schema}}
        for fmt, mime in mimetypes.items():
            content[mime] = {"schema": {"type": "string"} if fmt == "csv" else {"type": "string", "format": "binary"}}
        return self.doc(responses={"200": {"description": "OK", "content": content}})

    def fails(self, *statuses: int) -> Callable[[Any], Any]:
        """Document the error answers an endpoint may give, by reference to the shared components."""

        def deco(f: Any) -> Any:
            for status in statuses:
                f = self.alt_response(status, response=error_name(status))(f)
            return f

        return deco
