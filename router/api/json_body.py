"""A JSON body parsed once, and refused whole when it holds what no schema should have to meet
(router/schemas/text.py): nested past the recursion limit, a NUL, a lone surrogate."""

from __future__ import annotations

from typing import Any

from flask import Request, Response
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest

from router.api.errors import from_webargs
from router.schemas.text import TOO_DEEP, text_problems


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, with a body nested past Python's recursion limit a malformed body (400), not a
    RecursionError (500), and a body in anything but UTF-8 malformed too."""

    ensure_ascii = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if isinstance(s, bytes):  # UTF-8 only (docs/api.md §1): json.loads would also take UTF-16/32 and a BOM
            s = s.decode("utf-8")
        try:
            return super().loads(s, **kwargs)
        except RecursionError as e:
            raise ValueError(TOO_DEEP) from e


def refused(request: Request) -> Response | None:
    """The error answer for a JSON body that cannot be taken, else None (the parsed body is cached
    on the request, for the endpoint's schema)."""
    try:
        data = request.get_json()
    except BadRequest as e:
        if isinstance(e.__cause__, ValueError) and str(e.__cause__) == TOO_DEEP:
            return from_webargs(400, {"json": {"_schema": [TOO_DEEP]}})
        return from_webargs(400, {"json": {"_schema": ["Invalid JSON body."]}})
    problems = text_problems(data)
    if problems.get("_body") == [TOO_DEEP]:
        return from_webargs(400, {"json": {"_schema": [TOO_DEEP]}})
    return from_webargs(422, {"json": problems}) if problems else None


class Parser(FlaskParser):
    """webargs, reading the body Flask parsed (and `refused` checked) rather than parsing it again."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return req.get_json(cache=True)
