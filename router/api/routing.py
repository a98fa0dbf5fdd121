"""The routing preview (docs/api.md §3): what a registration would get, stored nowhere."""

from __future__ import annotations

from typing import Any

from router.api.auth import STAFF, current_actor, require_roles, services
from router.api.blueprint import Blueprint
from router.schemas.intake import DisputeIn, PreviewOut, intake_command

blp = Blueprint("routing", __name__, url_prefix="/api/v1/routing", description="分流预览")


@blp.post("/preview")
@require_roles(*STAFF)
@blp.arguments(DisputeIn)
@blp.answers(200, PreviewOut)
@blp.fails(400, 401, 403, 413, 415, 422)
def preview(data: dict[str, Any]) -> Any:
    """预览分流: the intake body in, the routing decision (tier, lead and assisting agencies by name,
    every reason, the rule-set version) and likely earlier registrations out. Stores nothing."""
    return services().preview(intake_command(data), current_actor())
