"""Intake and dispute endpoints (API.md "Intake")."""

from __future__ import annotations

from typing import Any

from flask import request

from router.api.auth import STAFF, current_actor, require_roles, services
from router.api.blueprint import Blueprint
from router.api.schemas import ActionIn, DisputeIn, DisputeOut, DisputePage, DisputeQuery, ErrorOut, TimelineOut
from router.domain.errors import ValidationError
from router.domain.intake import IntakeCommand
from router.domain.model import Feature, Party, PartyKind, PartyRole, RiskFlag, Source, Wish
from router.services.intake import request_hash
from router.services.views import DisputeFilter

blp = Blueprint("disputes", __name__, url_prefix="/api/v1/disputes", description="受理登记与纠纷查询")

ERRORS = {400: "malformed JSON", 401: "no or bad token", 403: "role not allowed", 409: "state conflict",
          413: "body over the limit", 415: "not JSON", 422: "schema or domain validation"}


def _document_errors(*codes: int) -> Any:
    def deco(f: Any) -> Any:
        for c in codes:
            f = blp.alt_response(c, schema=ErrorOut, description=ERRORS[c])(f)
        return f
    return deco


def to_command(data: dict[str, Any]) -> IntakeCommand:
    return IntakeCommand(
        source=Source(data["source"]), source_ref=data.get("source_ref"), category=data["category"],
        summary=data["summary"], amount=data.get("amount"), people_involved=data.get("people_involved", 1),
        division=data["division"], occurred_on=data.get("occurred_on"),
        risk_flags=frozenset(RiskFlag(f) for f in data.get("risk_flags", ())),
        features=frozenset(Feature(f) for f in data.get("features", ())), wish=Wish(data.get("wish", "unspecified")),
        parties=tuple(Party(role=PartyRole(p["role"]), kind=PartyKind(p.get("kind", "person")), name=p["name"],
                            division=p.get("division"), id_number=p.get("id_number"), phone=p.get("phone"),
                            credit_code=p.get("credit_code")) for p in data["parties"]),
    )


@blp.post("")
@require_roles("clerk", "admin")
@blp.arguments(DisputeIn)
@blp.response(201, DisputeOut)
@_document_errors(400, 401, 403, 409, 413, 415, 422)
def register(data: dict[str, Any]) -> Any:
    """受理登记: register a dispute; it is layered, dispatched and handed off in one transaction.

    An `Idempotency-Key` header makes retries safe: the same key and body return the first
    response; the same key with another body is 409.
    """
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 128):
        raise ValidationError("Idempotency-Key 长度应为1到128个字符", "Idempotency-Key must be 1-128 characters",
                              field="Idempotency-Key")
    status, view = services().register_dispute(to_command(data), current_actor(), idempotency_key=key,
                                               body_hash=request_hash(request.get_json()) if key else None)
    return view, status


@blp.get("")
@require_roles("supervisor", "admin")
@blp.arguments(DisputeQuery, location="query")
@blp.response(200, DisputePage)
@_document_errors(401, 403, 422)
def list_disputes(q: dict[str, Any]) -> Any:
    """List disputes for supervisors, newest first, with filters."""
    f = DisputeFilter(state=q.get("state"), category=q.get("category"), agency=q.get("agency"), tier=q.get("tier"),
                      date_from=q.get("from_"), date_to=q.get("to"), overdue=q.get("overdue"), page=q["page"],
                      per_page=q["per_page"])
    items, total = services().list_disputes(f)
    return {"items": items, "total": total, "page": f.page, "per_page": f.per_page}


@blp.get("/<string:dispute_id>")
@require_roles(*STAFF)
@blp.response(200, DisputeOut)
@_document_errors(401, 403)
def get_dispute(dispute_id: str) -> Any:
    """One dispute with its routing, handoffs (lead and assisting) and masked parties."""
    return services().get_dispute(dispute_id)


@blp.get("/<string:dispute_id>/timeline")
@require_roles("supervisor", "admin")
@blp.response(200, TimelineOut)
@_document_errors(401, 403)
def get_timeline(dispute_id: str) -> Any:
    """Every event in order (type, actor, time, data) and one span per handoff with its SLA standing."""
    return services().timeline(dispute_id)


@blp.post("/<string:dispute_id>/actions")
@require_roles("supervisor", "admin")
@blp.arguments(ActionIn)
@blp.response(200, DisputeOut)
@_document_errors(400, 401, 403, 409, 413, 415, 422)
def act(data: dict[str, Any], dispute_id: str) -> Any:
    """Supervisor actions: reroute, designate (指定), urge (催办), escalate (提级), withdraw, close, reopen,
    record_follow_up (回访: satisfaction, relapse), record_fulfilment, request_confirmation (司法确认).

    Every action needs a reason and is audited; one the dispute's state does not allow is 409.
    """
    return services().act(dispute_id, data, current_actor())
