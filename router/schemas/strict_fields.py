"""Input fields that take a value only in the one form the contract names (docs/api.md §1).

marshmallow's stock fields are lenient where a contract should not be: its Date takes whatever
Python's ISO parser does (`20261201`, `2026-W01-1`), its Boolean takes 0, 1, "yes" and "on", and
a String of length at least 1 takes a blank, a zero-width space, a right-to-left override or a
newline as a party's name, which then prints on a 告知书."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from marshmallow import ValidationError, fields, validate

from router.domain.personal_text import seal

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Controls (newline, tab), format characters (zero-width space and joiners, direction overrides and
# isolates, the BOM), line and paragraph separators: none belongs in a one-line name. Unassigned and
# private-use code points stay allowed: a newer CJK extension than this Python knows, or a centre's
# own 造字 for a rare name character.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Letters and symbols that print as nothing (Hangul and halfwidth fillers, the blank braille cell).
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Direction overrides and isolates reorder what is shown (a "Trojan Source" summary): not in any text.
_REORDERING = re.compile("[\u202a-\u202e\u2066-\u2069]")

BLANK = "Must not be blank."
ONE_LINE = "Must be one line of visible text."
REORDERED = "Must not contain direction override characters."


class Day(fields.Date):
    """A calendar day, YYYY-MM-DD and nothing else."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Flag(fields.Boolean):
    """true or false, as JSON writes them."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


def _visible(value: str) -> bool:
    """Does anything in it print: a letter, digit, punctuation or symbol that is no filler? Marks,
    spaces and format characters alone leave the line blank."""
    return any(unicodedata.category(c)[0] in "LNPS" and c not in _FILLERS for c in value)


def _one_line(value: str) -> None:
    if not _visible(value):
        raise ValidationError(BLANK)
    if any(unicodedata.category(c) in _INVISIBLE for c in value):
        raise ValidationError(ONE_LINE)


def _not_blank(value: str) -> None:
    if not _visible(value):
        raise ValidationError(BLANK)
    if _REORDERING.search(value):
        raise ValidationError(REORDERED)


def Name(max_length: int, **kwargs: Any) -> fields.String:  # noqa: N802 - a field, named like one
    """A person's or an organisation's name: one line of visible text."""
    return fields.String(validate=[validate.Length(min=1, max=max_length), _one_line], **kwargs)


class Prose(fields.String):
    """Free text as typed: an ID number or a mobile number in it comes out masked, as a `Sealed`
    string that keeps the original for the store to encrypt (router/domain/personal_text.py)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return seal(super()._deserialize(value, attr, data, **kwargs))


def _no_reordering(value: str) -> None:
    if _REORDERING.search(value):
        raise ValidationError(REORDERED)


def Text(max_length: int, **kwargs: Any) -> fields.String:  # noqa: N802 - a field, named like one
    """Free text (a reason, a note, terms): lines allowed, but not blank and nothing reordered."""
    return Prose(validate=[validate.Length(min=1, max=max_length), _not_blank], **kwargs)


def Note(max_length: int, **kwargs: Any) -> fields.String:  # noqa: N802 - a field, named like one
    """Optional free text (a note, an opinion): may be empty or null, nothing reordered."""
    kwargs.setdefault("allow_none", True)
    kwargs.setdefault("load_default", None)
    return Prose(validate=[validate.Length(max=max_length), _no_reordering], **kwargs)
