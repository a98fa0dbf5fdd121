"""Domain errors: the one exception family the core raises.

Entry points map them to HTTP statuses / CLI messages; the core never knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class DomainError(Exception):
    """A rule of the domain was broken. ``field`` names the offending input when there is one."""

    code = "domain_error"

    def __init__(self, message_zh: str, message_en: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message_en or message_zh)
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        self.field = field


class ValidationError(DomainError):
    """Input is well-formed but violates a domain rule (maps to 422).

    ``fields`` maps a dotted field path (``parties.0.id_number``) to (zh, en) messages.
    """

    code = "validation_error"

    def __init__(self, message_zh: str, message_en: str | None = None, *, field: str | None = None,
                 fields: dict[str, list[tuple[str, str]]] | None = None) -> None:
        super().__init__(message_zh, message_en, field=field)
        self.fields = dict(fields or {})
        if field and field not in self.fields:
            self.fields[field] = [(self.message_zh, self.message_en)]


class StateConflict(DomainError):
    """A trigger is not allowed in the current state (maps to 409)."""

    code = "state_conflict"

    def __init__(self, message_zh: str, message_en: str | None = None, *, state: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message_zh, message_en, field=field)
        self.state = state


class NotFound(DomainError):
    """Unknown entity, or one the caller may not see (maps to 404)."""

    code = "not_found"


class ConfigError(Exception):
    """A configuration file is invalid; the message names the file, the key and the problem."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}")
        self.file, self.key, self.problem = file, key, problem


def reject_unknown_keys(file: str, where: str, mapping: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Every config key must mean something: a typo would otherwise silently change routing or deadlines."""
    known = set(allowed)
    unknown = sorted(str(k) for k in mapping if k not in known)
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ConfigError(file, key, f"unknown key (expected {', '.join(sorted(known))})")
