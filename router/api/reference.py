"""Reference data for any signed-in staff: categories, divisions, agencies."""

from __future__ import annotations

from typing import Any

from router.api.auth import STAFF, require_roles, services
from router.api.blueprint import Blueprint
from router.api.schemas import AgencyOut, AgencyQuery, CategoryOut, DivisionOut, DivisionQuery, VerifyOut

blp = Blueprint("reference", __name__, url_prefix="/api/v1", description="参考数据")


@blp.get("/reference/categories")
@require_roles(*STAFF)
@blp.response(200, CategoryOut(many=True))
def categories() -> Any:
    """The fifteen categories with their Chinese names and default routing."""
    rs = services().ctx.config.ruleset
    return [{"code": c.code, "name": c.name, "lead": str(c.lead), "tier": str(c.tier),
             "next_on_failure": str(c.next_on_failure) if c.next_on_failure else None,
             "alternatives": [str(a) for a in c.alternatives]} for c in rs.categories.values()]


@blp.get("/reference/divisions")
@require_roles(*STAFF)
@blp.arguments(DivisionQuery, location="query")
@blp.response(200, DivisionOut(many=True))
def divisions(q: dict[str, Any]) -> Any:
    """The centre's area as a tree: children of `parent` (the top level without it)."""
    tree = services().ctx.config.divisions
    parent = q.get("parent")
    if parent is None:
        level = [d for d in tree.by_code.values() if not d.parent or d.parent not in tree.by_code]
    else:
        level = tree.children(parent)
    return [{"code": d.code, "name": d.name, "level": d.level, "parent": d.parent,
             "has_children": bool(tree.children(d.code))} for d in sorted(level, key=lambda d: d.code)]


@blp.get("/agencies")
@require_roles(*STAFF)
@blp.arguments(AgencyQuery, location="query")
@blp.response(200, AgencyOut(many=True))
def agencies(q: dict[str, Any]) -> Any:
    """Agencies by body type, tier and the division they cover."""
    return [{"code": a.code, "name": a.name, "body_type": a.body_type, "tier": a.tier,
             "jurisdiction": a.jurisdiction, "active": a.active}
            for a in services().agencies(q.get("body_type"), q.get("tier"), q.get("division"))]


@blp.get("/audit/verify")
@require_roles("supervisor", "admin")
@blp.response(200, VerifyOut)
def verify() -> Any:
    """Check the hash chains of the event log; reports the first broken link."""
    return services().verify_chain()
