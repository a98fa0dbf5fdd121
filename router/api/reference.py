"""Reference data for any signed-in staff: categories, divisions, agencies; the audit check."""

from __future__ import annotations

from typing import Any

from router.api.auth import STAFF, current_actor, require_roles, services
from router.api.blueprint import Blueprint
from router.api.errors import error_response, wants_chinese
from router.schemas.reference import AgencyOut, AgencyQuery, CategoryOut, DivisionOut, DivisionQuery, VerifyOut

blp = Blueprint("reference", __name__, url_prefix="/api/v1", description="参考数据")


@blp.get("/reference/categories")
@require_roles(*STAFF)
@blp.answers(200, CategoryOut(many=True))
def categories() -> Any:
    """The fifteen categories with their Chinese names and default routing."""
    return services().categories()


@blp.get("/reference/divisions")
@require_roles(*STAFF)
@blp.arguments(DivisionQuery, location="query")
@blp.answers(200, DivisionOut(many=True))
def divisions(q: dict[str, Any]) -> Any:
    """The centre's area as a tree: children of `parent` (the top level without it)."""
    return services().divisions(q.get("parent"))


@blp.get("/agencies")
@require_roles(*STAFF)
@blp.arguments(AgencyQuery, location="query")
@blp.answers(200, AgencyOut(many=True))
def agencies(q: dict[str, Any]) -> Any:
    """Agencies by body type, tier and the division they cover."""
    return services().agencies(q.get("body_type"), q.get("tier"), q.get("division"))


@blp.get("/audit/verify")
@require_roles("supervisor", "admin")
@blp.answers(200, VerifyOut)
def verify() -> Any:
    """Check the hash chains that moved since they were last verified, from their checkpoints; reports
    the first broken link. Every chain from its first event: `dispute-router audit verify --full`.
    The whole store's check is the centre's: a division-scoped user checks each dispute's chain on its
    page (docs/api.md §2), and is refused here (403) rather than shown other divisions' breaks."""
    if current_actor().division:
        return error_response(403, message="全库审计核验仅限全中心用户；请在纠纷页面核验本辖区纠纷的审计链"
                              if wants_chinese() else "the whole store's audit is for users of the whole centre")
    return services().verify_chain()
