"""Partner agencies' endpoints (docs/agency-guide.md): pull, report, and the 12345 hotline's intake.

Every call is signed the Standard Webhooks way plus `X-Router-Key`; any failure is a bare 401.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import quote

from flask import g, jsonify, make_response, request
from marshmallow import ValidationError as SchemaError
from werkzeug.exceptions import HTTPException

from router.adapters import signing
from router.api.auth import services
from router.api.blueprint import Blueprint
from router.api.errors import error_response, from_domain, unknown_query, wants_chinese
from router.domain.errors import DomainError
from router.domain.model import REFERRAL_SOURCE
from router.schemas.agency import (
    AgencyEventIn,
    AgencyEventOut,
    AgencyHandoffOut,
    AgencyHandoffPage,
    AgencyHandoffQuery,
    FeedOut,
    FeedQuery,
)
from router.schemas.disputes import DisputeOut
from router.schemas.intake import HotlineIn, intake_command
from router.schemas.messages import flatten
from router.schemas.referral_in import ReferralIn, load_details
from router.services.agency import agency_actor
from router.services.agency_keys import SignedRequest
from router.services.idempotency import request_hash
from router.services.signed_calls import Replay

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)

blp = Blueprint("agency", __name__, url_prefix="/api/v1", description="协作单位：拉取、签收、退回、报告结果；12345工单")

SIGNED = [{"agency": []}]
_PATH_SAFE = "/:@!$&'()*+,;=-._~"  # what a path keeps unescaped (RFC 3986 pchar)
_MISMATCH = ("与请求路径中的移交不一致", "does not match the handoff in the path")
_IN_PROGRESS = ("同一请求正在处理，请稍后重试", "the same call is still being answered; retry shortly")


def require_agency(view: F) -> F:
    """401 unless the request is signed by an active key of an active agency, fresh and not replayed;
    a retry of a call already answered gets that answer (services/signed_calls.py)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        h = request.headers
        target = quote(request.path, safe=_PATH_SAFE) + (f"?{request.query_string.decode('latin-1')}"
                                                        if request.query_string else "")
        webhook_id = h.get("webhook-id", "")
        outcome = services().authenticate_agency(SignedRequest(
            key_id=h.get("X-Router-Key", ""), webhook_id=webhook_id,
            timestamp=h.get("webhook-timestamp", ""), signature=h.get("webhook-signature", ""),
            body=signing.signed_payload(request.method, target, request.get_data(cache=True))))
        if isinstance(outcome, Replay):
            if outcome.in_progress:  # the same call, still being answered: try again shortly
                resp = error_response(409, code="in_progress", message=_IN_PROGRESS[0 if wants_chinese() else 1])
                resp.headers["Retry-After"] = "1"
                return resp
            return jsonify(outcome.answer), outcome.status
        if outcome is None:
            return error_response(401)
        g.agency = outcome
        try:
            resp = make_response(unknown_query(view) or view(*args, **kwargs))
        except DomainError as e:  # a refusal is an answer too: given again to a retry
            resp = from_domain(e)
        except Exception as e:
            _settle(outcome.code, webhook_id, e.code if isinstance(e, HTTPException) and e.code else 500, None, False)
            raise
        _settle(outcome.code, webhook_id, resp.status_code, resp.get_json(silent=True) if resp.is_json else None,
                request.method != "GET")
        return resp

    return wrapped  # type: ignore[return-value]


def _settle(code: str, webhook_id: str, status: int, answer: Any, remember: bool) -> None:
    """Keep the answer for a retry (or free the webhook-id). The call's own change is committed
    already: a failure here must not turn it into an error for the agency; its retry then waits
    (409 in progress) until the window passes, and its event_id keeps it from being applied twice."""
    try:
        services().settle_agency_call(code, webhook_id, status, answer, remember=remember)
    except Exception:  # noqa: BLE001 - logged; the agency gets the answer its call earned
        log.exception("could not keep the answer of a signed call", extra={"agency": code})


@blp.get("/agency/handoffs")
@blp.doc(security=SIGNED)
@require_agency
@blp.arguments(AgencyHandoffQuery, location="query")
@blp.answers(200, AgencyHandoffPage)
@blp.fails(401, 422)
def pull(q: dict[str, Any]) -> Any:
    """What is waiting for this agency (e.g. `?state=delivered`); newest first, without personal data."""
    return services().agency_handoffs(g.agency.code, q.get("state"), q["page"], q["per_page"])


@blp.get("/agency/feed")
@blp.doc(security=SIGNED)
@require_agency
@blp.arguments(FeedQuery, location="query")
@blp.answers(200, FeedOut)
@blp.fails(401, 422)
def feed(q: dict[str, Any]) -> Any:
    """Gap-free pull: every delivery and notice made to this agency after `since`, in order, each with its
    cursor. Keep the last cursor you processed and ask from it again: nothing is missed or repeated."""
    return services().agency_feed(g.agency.code, q["since"], q["limit"])


@blp.get("/agency/handoffs/<string:handoff_id>")
@blp.doc(security=SIGNED)
@require_agency
@blp.answers(200, AgencyHandoffOut)
@blp.fails(401, 404)
def one(handoff_id: str) -> Any:
    """One handoff in full, parties unmasked (the agency must contact them); the reveal is audited."""
    return services().agency_handoff(g.agency.code, handoff_id)


@blp.post("/agency/handoffs/<string:handoff_id>/events")
@blp.doc(security=SIGNED)
@require_agency
@blp.arguments(AgencyEventIn)
@blp.answers(200, AgencyEventOut)
@blp.fails(400, 401, 404, 409, 413, 415, 422)
def report(data: dict[str, Any], handoff_id: str) -> Any:
    """签收 acknowledged · 退回 returned (reason and basis) · progress · outcome · closed.

    Idempotent by `event_id`: the same id again returns the first answer; with another body, 409.
    An outcome or progress report before 签收 implies it, recorded as implied.
    """
    if data.pop("handoff_id") != handoff_id:  # a body signed for one handoff, sent to another's path
        return error_response(422, fields={"handoff_id": [_MISMATCH[0] if wants_chinese() else _MISMATCH[1]]})
    body = request.get_json()
    data = {**data, "event_id": body["event_id"]}
    return services().agency_event(g.agency.code, handoff_id, _plain(data))


@blp.post("/intake/hotline")
@blp.doc(security=SIGNED)
@require_agency
@blp.arguments(HotlineIn)
@blp.answers(201, DisputeOut)
@blp.fails(400, 401, 403, 409, 413, 415, 422)
def hotline(data: dict[str, Any]) -> Any:
    """A 12345 work order becomes a dispute (source hotline, source_ref = work-order number).

    Idempotent on the work-order number: sending it again returns the dispute registered the first
    time. Status changes and the final reply (回单) go back to the hotline through its adapter.
    """
    if g.agency.body_type != "hotline_12345":
        return error_response(403)
    return _register(data.pop("work_order_no"), data, None)


@blp.post("/intake/referral")
@blp.doc(security=SIGNED)
@require_agency
@blp.arguments(ReferralIn)
@blp.answers(201, DisputeOut)
@blp.fails(400, 401, 403, 409, 413, 415, 422)
def referral(data: dict[str, Any]) -> Any:
    """One signed intake for every referring body (诉前委派, 110 纠纷类警情, 信访件 ...): the intake body
    with `referral_no`; the source follows the sender's body type (bodies.yaml `may_refer`, else 403).

    Idempotent on (agency, referral_no): the same number returns the same dispute, a changed body is
    409. The sender then gets signed `referral.status` notices and the final `referral.result`.
    """
    body_type = g.agency.body_type
    if not services().may_refer(body_type):
        return error_response(403, message="该单位不能转入纠纷" if wants_chinese() else "this agency may not refer")
    number, raw = data.pop("referral_no"), data.pop("details", {})
    try:
        details = load_details(body_type, raw)
    except SchemaError as e:
        messages = flatten(e.messages, zh=wants_chinese())
        return error_response(422, fields={f"details.{k}": v for k, v in messages.items()})
    if details.get("violence"):  # the police saw violence: the dispute carries the flag (and its police clock)
        data["risk_flags"] = sorted({*data.get("risk_flags", []), "violence_threat"})
    return _register(number, data, details)


def _register(number: str, data: dict[str, Any], details: dict[str, Any] | None) -> Any:
    """The sender's dispute, idempotent on its own number; `details` None: the 12345 alias's work order."""
    body_type = g.agency.body_type
    cmd = intake_command({**data, "source": REFERRAL_SOURCE[body_type], "source_ref": number})
    if details is not None:
        cmd = replace(cmd, referral={"agency": g.agency.code, "body_type": body_type, "referral_no": number,
                                     "details": details})
    # The loaded body (defaults filled in), so a retry that drops `"details": {}` is the same request.
    loaded = _plain({**data, "details": details}) if details is not None else request.get_json()
    status, view = services().register_dispute(cmd, agency_actor(g.agency.code), idempotency_key=number,
                                               body_hash=request_hash(loaded))
    return view, status


def _plain(v: Any) -> Any:
    """Dates and decimals as the JSON strings the agency sent, for storage and idempotency hashing."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return v.isoformat() if hasattr(v, "isoformat") else str(v)
