"""What every schema shares: strict loading, money, instants, division codes, periods, pages, and
the context an output needs besides its row (the clock, the config).

The schemas in this package are the one description of each shape the service takes or gives:
the API validates with them, the services dump their answers with them, the OpenAPI document and
the web forms are generated from them (docs/architecture.md §7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, fields, validate
from marshmallow.experimental.context import Context

from router.domain.calendar import PERIOD_PATTERN
from router.domain.registry import Registry
from router.settings import DomainConfig

# Numeric(16, 2) on PostgreSQL; SQLite keeps it as a float, exact to the cent up to 15 significant digits.
MAX_AMOUNT = Decimal("9999999999999.99")
DIVISION = validate.Regexp(r"^\d{12}$", error="String does not match expected pattern.")
PERIOD = validate.Regexp(PERIOD_PATTERN, error="String does not match expected pattern.")


class Strict(Schema):
    """Input: an unknown field is an error naming it (API bodies and query strings alike)."""

    class Meta:
        unknown = RAISE
        ordered = True


class Out(Schema):
    """Output: what the service answers; described here, dumped from rows by the services."""


class Money(fields.Decimal):
    """CNY as a decimal string ("12000.00"), taken exactly: a third decimal place is refused, never rounded."""

    default_error_messages = {"places": "At most two decimal places."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"pattern": r"^\d+(\.\d{1,2})?$", "example": "12000.00"})
        super().__init__(places=2, as_string=True, allow_nan=False,
                         validate=validate.Range(min=0, max=MAX_AMOUNT), **kwargs)

    def _format_num(self, value: Any) -> Decimal:
        num = Decimal(str(value))
        if num.is_finite() and num.as_tuple().exponent < -2 and num != num.quantize(Decimal("0.01")):
            raise self.make_error("places")
        return super()._format_num(num.copy_abs() if num.is_zero() else num)  # "-0" is 0.00


class Instant(fields.AwareDateTime):
    """A moment in time: RFC 3339, always given in UTC whatever zone computed it."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Dumping:
    """What an output needs besides its row: the service clock (SLA), the config (masks, divisions)
    and, where an answer names agencies, the registry of them."""

    now: datetime
    config: DomainConfig
    registry: Registry | None = None

    def agency_name(self, code: str | None) -> str | None:
        info = self.registry.by_code.get(code) if self.registry is not None and code else None
        return info.name if info is not None else code


def dumping() -> Dumping:
    return Context[Dumping].get()


def dump(schema: Schema, obj: Any, now: datetime, config: DomainConfig, registry: Registry | None = None) -> Any:
    """The answer of a service: `obj` (a row, or rows) as `schema` describes it."""
    with Context(Dumping(now, config, registry)):
        return schema.dump(obj)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The one paged wrapper of every list: {items, total, page, per_page}."""
    return Schema.from_dict({"items": fields.List(fields.Nested(item)), "total": fields.Integer(),
                             "page": fields.Integer(), "per_page": fields.Integer()}, name=name)


def page_number() -> fields.Integer:
    """`page` of every list query."""
    return fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))


def page_size(default: int) -> fields.Integer:
    """`per_page` of every list query: at most 200."""
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=200))


def derived(base: type[fields.Field], fn: Callable[[Any], Any], **kwargs: Any) -> fields.Field:
    """An output field computed from the whole row by `fn` (an SLA, a masked name), typed as `base`
    in the OpenAPI document."""

    class Derived(base):  # type: ignore[valid-type, misc]
        def serialize(self, attr: str, obj: Any, accessor: Any = None, **kw: Any) -> Any:
            return self._serialize(fn(obj), attr, obj, **kw)

    return Derived(**kwargs)


def values(enum: Any) -> list[str]:
    return [str(e) for e in enum]
