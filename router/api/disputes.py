"""Intake and dispute endpoints (docs/api.md §3-6)."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from router.api.auth import STAFF, current_actor, require_roles, services
from router.api.blueprint import Blueprint
from router.api.errors import error_response, wants_chinese
from router.domain.errors import ValidationError
from router.schemas.disputes import (
    ActionIn,
    CompletionIn,
    DisputeOut,
    DisputePage,
    DisputeQuery,
    DuplicateDecisionIn,
    FollowUpIn,
    PaperHandoverIn,
    TimelineOut,
)
from router.schemas.intake import DisputeIn, intake_command
from router.services.idempotency import request_hash
from router.services.views import DisputeFilter

blp = Blueprint("disputes", __name__, url_prefix="/api/v1/disputes", description="受理登记与纠纷查询")


@blp.post("")
@require_roles("clerk", "admin", "grid")
@blp.arguments(DisputeIn)
@blp.answers(201, DisputeOut)
@blp.fails(400, 401, 403, 409, 413, 415, 422)
def register(data: dict[str, Any]) -> Any:
    """受理登记: register a dispute; it is layered, dispatched and handed off in one transaction.

    An `Idempotency-Key` header makes retries safe: the same key and body return the first
    response; the same key with another body is 409.
    """
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 128):
        raise ValidationError("Idempotency-Key 长度应为1到128个字符", "Idempotency-Key must be 1-128 characters",
                              field="Idempotency-Key")
    if current_actor().role == "grid":  # 网格员上报: always counted as found in the grid
        if (data.get("disposition") or {}).get("type") == "not_accepted":
            return error_response(403, message="网格员不能作出不予受理决定" if wants_chinese()
                                  else "a grid worker may not decide not_accepted")
        data = {**data, "source": "grid"}
    status, view = services().register_dispute(intake_command(data), current_actor(), idempotency_key=key,
                                               body_hash=request_hash(request.get_json()) if key else None)
    return view, status


@blp.get("")
@require_roles("supervisor", "admin")
@blp.arguments(DisputeQuery, location="query")
@blp.answers(200, DisputePage)
@blp.fails(401, 403, 422)
def list_disputes(q: dict[str, Any]) -> Any:
    """List disputes for supervisors, newest first, with filters."""
    return services().list_disputes(DisputeFilter(
        state=q.get("state"), category=q.get("category"), agency=q.get("agency"), tier=q.get("tier"),
        date_from=q.get("from_"), date_to=q.get("to"), overdue=q.get("overdue"), page=q["page"],
        per_page=q["per_page"]), current_actor())


@blp.get("/<string:dispute_id>")
@require_roles(*STAFF)
@blp.answers(200, DisputeOut)
@blp.fails(401, 403, 404)
def get_dispute(dispute_id: str) -> Any:
    """One dispute with its routing, handoffs (lead and assisting) and masked parties."""
    return services().get_dispute(dispute_id, current_actor())


@blp.get("/<string:dispute_id>/timeline")
@require_roles("supervisor", "admin")
@blp.answers(200, TimelineOut)
@blp.fails(401, 403, 404)
def get_timeline(dispute_id: str) -> Any:
    """Every event in order (type, actor, time, data) and one span per handoff with its SLA standing."""
    return services().timeline(dispute_id, current_actor())


@blp.post("/<string:dispute_id>/actions")
@require_roles("supervisor", "admin")
@blp.arguments(ActionIn)
@blp.answers(200, DisputeOut)
@blp.fails(400, 401, 403, 404, 409, 413, 415, 422)
def act(data: dict[str, Any], dispute_id: str) -> Any:
    """Supervisor actions: reroute, designate (指定), urge (催办), escalate (提级), withdraw, close, reopen,
    record_follow_up (回访: satisfaction, relapse), record_fulfilment, request_confirmation (司法确认), extend.

    Every action needs a reason and is audited; one the dispute's state does not allow is 409.
    """
    return services().act(dispute_id, data, current_actor())


@blp.post("/<string:dispute_id>/duplicate")
@require_roles("clerk", "supervisor", "admin")
@blp.arguments(DuplicateDecisionIn)
@blp.answers(200, DisputeOut)
@blp.fails(400, 401, 403, 404, 409, 413, 415, 422)
def duplicate(data: dict[str, Any], dispute_id: str) -> Any:
    """并单: a registration held as a likely repeat is merged into the open dispute (`into`, default its
    `duplicate_of`), or confirmed another matter (`distinct`: it routes now); `split` (拆单) undoes a merge
    and routes it. Audited on both disputes' timelines; 409 when the state does not allow it."""
    return services().decide_duplicate(dispute_id, data["decision"], data["reason"], current_actor(),
                                       data.get("into"))


@blp.post("/<string:dispute_id>/follow-up")
@require_roles("clerk", "follow_up", "supervisor", "admin")
@blp.arguments(FollowUpIn)
@blp.answers(200, DisputeOut)
@blp.fails(400, 401, 403, 404, 409, 413, 415, 422)
def follow_up(data: dict[str, Any], dispute_id: str) -> Any:
    """回访: satisfied or basically satisfied closes the dispute; dissatisfied starts 重办 (the same body
    again, a new clock); `relapse` puts it before supervisors. On a closed dispute the visit is
    recorded and a relapse reopens it. 409 in any other state."""
    return services().record_follow_up(dispute_id, data, current_actor())


@blp.post("/<string:dispute_id>/completion")
@require_roles("clerk", "supervisor", "admin")
@blp.arguments(CompletionIn)
@blp.answers(200, DisputeOut)
@blp.fails(400, 401, 403, 404, 409, 413, 415, 422)
def completion(data: dict[str, Any], dispute_id: str) -> Any:
    """补正完毕: a dispute its lead returned as incomplete (`reason_code: incomplete`) waits in
    `awaiting_completion`; the note is appended to its summary and the same body is offered it again.
    409 in any other state."""
    return services().complete_registration(dispute_id, data["note"], current_actor())


@blp.post("/<string:dispute_id>/handoffs/<string:handoff_id>/paper-handover")
@require_roles("clerk", "supervisor", "admin")
@blp.arguments(PaperHandoverIn)
@blp.answers(200, DisputeOut)
@blp.fails(400, 401, 403, 404, 409, 413, 415, 422)
def paper_handover(data: dict[str, Any], dispute_id: str, handoff_id: str) -> Any:
    """纸质移交: the 委托函 of a paper agency's handoff was handed over (who took it, when): it is delivered.
    409 when the agency is not a paper agency or the handoff is no longer waiting to be delivered."""
    return services().record_paper_handover(dispute_id, handoff_id, data["received_by"], data.get("received_at"),
                                            current_actor(), data["acknowledged"])


@blp.get("/<string:dispute_id>/archive")
@require_roles("supervisor", "admin")
@blp.response(200, content_type="application/zip", description="the case file: manifest.json, manifest.sig, "
              "events.json, dispute.json, events.csv, case-file.pdf (docs/reports.md §8)")
@blp.fails(401, 403, 404)
def archive(dispute_id: str) -> Any:
    """一案一卷: the dispute's case file as a zip; an archived dispute's is the one kept when it was archived."""
    bundle, name = services().case_file(dispute_id, current_actor())
    return Response(bundle, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
