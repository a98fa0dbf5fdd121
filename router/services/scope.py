"""Division scopes (docs/api.md §2): a staff user added with `--division` sees and acts on that
division's subtree only. Out of scope is absent, never forbidden: a dispute outside answers 404 as
one that does not exist, and no list, queue, lookup, report or export counts it, so nothing tells
a town's supervisor what another town holds.

A subtree is every code that starts with the division's significant prefix (the rule agencies'
jurisdictions already follow, domain/registry.py), so a scope is one indexed `LIKE 'prefix%'`.
The system, the command line and agencies have no scope here (agencies are held to their own
handoffs, services/agency.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, true

from router.domain.errors import NotFound
from router.domain.registry import division_prefix
from router.services.context import Actor


@dataclass(frozen=True)
class Scope:
    division: str | None = None  # None: the whole centre

    @property
    def prefix(self) -> str | None:
        return division_prefix(self.division) if self.division else None

    @property
    def whole(self) -> bool:
        return self.division is None

    def allows(self, code: str | None) -> bool:
        p = self.prefix
        return p is None or (code is not None and code.startswith(p))

    def where(self, column: Any) -> ColumnElement[bool]:
        """The SQL condition on a division column: true for the whole centre."""
        p = self.prefix
        return true() if p is None else column.startswith(p, autoescape=True)

    def require(self, code: str | None) -> None:
        """A dispute (or anything placed in a division) out of scope is as absent as one never made."""
        if not self.allows(code):
            raise NotFound("纠纷不存在", "no such dispute")

    def narrow(self, requested: str | None) -> str | None:
        """A report's or queue's division filter inside the scope: none asked is the scope itself; one
        outside it is absent (404 naming the field), not an empty report that looks like a real one."""
        if requested is None or self.whole:
            return requested or self.division
        if self.allows(requested):
            return requested
        if Scope(requested).allows(self.division):  # an ancestor of the scope: the scope is all of it they see
            return self.division
        raise NotFound(f"辖区不在您的范围内：{requested}", f"division {requested!r} is outside your area",
                       field="division")


WHOLE = Scope()


def scope_of(actor: Actor | None) -> Scope:
    if actor is None or actor.kind != "user" or not actor.division:
        return WHOLE
    return Scope(actor.division)
