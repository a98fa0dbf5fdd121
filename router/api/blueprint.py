"""The blueprint every JSON endpoint uses: query strings are parsed as strictly as bodies."""

from __future__ import annotations

from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser


class Blueprint(SmorestBlueprint):
    """webargs drops unknown query parameters by default; unknown=None lets each schema's RAISE apply,
    so `?colour=red` or a misspelt filter is a 422 naming it instead of a silently wider answer."""

    ARGUMENTS_PARSER = FlaskParser(unknown=None)
