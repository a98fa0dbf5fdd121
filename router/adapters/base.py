"""What every adapter shares: the handoff context it maps, its contract, and the signed HTTP client.

An adapter turns a handoff into the payload one kind of body understands and declares that
payload's JSON Schema (contracts/handoff-<body_type>.schema.json). Sending is the same for all:
a signed POST with connect/read timeouts and `Idempotency-Key: <handoff id>`, and one rule for
what a response means (2xx delivered; timeouts, connection errors, 5xx and 429 retried; other
4xx final).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import requests

from router.adapters import signing
from router.workflows.handoff import HandoffRole

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class PartyData:
    role: str
    kind: str
    name: str
    division: str | None
    id_number: str | None
    phone: str | None
    credit_code: str | None


@dataclass(frozen=True)
class AgreementData:
    """调解协议书 as a court confirms it (司法确认) or a later body needs to know it."""

    terms: str
    amount: str | None
    signed_on: str           # the day the agreement was reported (Asia/Shanghai date)
    fulfil_by: str | None
    mediated_by: str         # agency code of the body that mediated it
    mediated_by_name: str


@dataclass(frozen=True)
class PriorMediation:
    """The mediation that failed before this handoff (labour mediation before arbitration, say)."""

    handoff_id: str
    agency: str
    agency_name: str
    body_type: str
    result: str
    acknowledged_at: str | None
    concluded_at: str | None
    note: str | None


@dataclass(frozen=True)
class ReferralInput:
    """Everything an adapter may put in a payload; built by the service layer from stored rows."""

    handoff_id: str
    role: str
    designated: bool
    placement: int
    body_type: str
    agency_code: str
    agency_name: str
    dispute_id: str
    reference: str
    source: str
    source_ref: str | None
    category: str
    category_name: str
    summary: str
    amount: str | None
    people_involved: int
    division: str
    occurred_on: str | None
    risk_flags: tuple[str, ...]
    wish: str
    tier: str | None
    parties: tuple[PartyData, ...]
    deadlines: dict[str, str | None]
    deadline_rules: dict[str, str]
    reasons: tuple[dict[str, str], ...]
    assisting: tuple[dict[str, Any], ...]
    callback_url: str
    offered_at: str
    # Set for a judicial-confirmation handoff (role confirm): the agreement the court is asked to confirm.
    agreement: AgreementData | None = None
    # Set when a lead mediation failed before this handoff: what the next body must know of it.
    prior_mediation: PriorMediation | None = None
    # Set for a body asked mid-case (联动): what the handling body asked of it, and which body asked.
    question: str | None = None
    asked_by: str | None = None


class Adapter:
    """Maps a handoff to one family of bodies' payload. Subclasses set `family`, `body_types`, `build`."""

    family: ClassVar[str] = ""
    body_types: ClassVar[tuple[str, ...]] = ()
    title: ClassVar[str] = ""

    def build(self, r: ReferralInput) -> dict[str, Any]:
        raise NotImplementedError

    def schema(self, body_type: str) -> dict[str, Any]:
        """The JSON Schema of this adapter's payload for `body_type`."""
        raise NotImplementedError


# --------------------------------------------------------------------------- shared payload parts
def party_json(p: PartyData, *, identity: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"role": p.role, "kind": p.kind, "name": p.name, "division": p.division,
                           "phone": p.phone}
    if identity:
        out["id_number"] = p.id_number
        out["credit_code"] = p.credit_code
    return out


def common_json(r: ReferralInput) -> dict[str, Any]:
    return {"handoff_id": r.handoff_id, "reference": r.reference, "role": r.role,
            "designated": r.designated, "category": r.category, "category_name": r.category_name,
            "summary": r.summary, "amount": r.amount, "people_involved": r.people_involved,
            "division": r.division, "occurred_on": r.occurred_on, "deadlines": dict(r.deadlines),
            "routing_reasons": [dict(r) for r in r.reasons], "callback_url": r.callback_url,
            "offered_at": r.offered_at}


NULLABLE_STRING = {"type": ["string", "null"]}
DEADLINES_SCHEMA = {
    "type": "object", "required": ["ack_due", "return_due"],
    "properties": {"ack_due": {"type": "string", "format": "date-time"},
                   "return_due": {"type": "string", "format": "date-time"},
                   "handle_due": {"type": ["string", "null"], "format": "date-time"}},
}
PARTY_SCHEMA = {
    "type": "object", "required": ["role", "kind", "name"],
    "properties": {"role": {"enum": ["applicant", "respondent", "third_party"]},
                   "kind": {"enum": ["person", "organization", "government"]},
                   "name": {"type": "string"}, "division": NULLABLE_STRING, "phone": NULLABLE_STRING,
                   "id_number": NULLABLE_STRING, "credit_code": NULLABLE_STRING},
    "additionalProperties": False,
}
COMMON_PROPERTIES: dict[str, Any] = {
    "handoff_id": {"type": "string", "format": "uuid"},
    "reference": {"type": "string", "description": "受理编号, e.g. 诸暨调〔2026〕000123号"},
    "role": {"enum": [str(r) for r in HandoffRole], "description": "主办, 协办 or 司法确认 (a court asked to confirm "
                                                                  "an agreement)"},
    "designated": {"type": "boolean", "description": "指定办理: may not be returned"},
    "category": {"type": "string"}, "category_name": {"type": "string"}, "summary": {"type": "string"},
    "amount": {"type": ["string", "null"], "pattern": r"^\d+\.\d{2}$"},
    "people_involved": {"type": "integer", "minimum": 1},
    "division": {"type": "string", "pattern": r"^\d{12}$"},
    "occurred_on": {"type": ["string", "null"], "format": "date"},
    "deadlines": DEADLINES_SCHEMA,
    "routing_reasons": {"type": "array", "items": {"type": "object", "required": ["rule", "text"],
                                                     "properties": {"rule": {"type": "string"},
                                                                    "text": {"type": "string"}}}},
    "callback_url": {"type": "string", "format": "uri"},
    "offered_at": {"type": "string", "format": "date-time"},
}


AGREEMENT_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"], "additionalProperties": False,
    "required": ["terms", "amount", "signed_on", "fulfil_by", "mediated_by", "mediated_by_name"],
    "description": "调解协议书: set on a judicial-confirmation request (role confirm)",
    "properties": {"terms": {"type": "string"}, "amount": {"type": ["string", "null"], "pattern": r"^\d+\.\d{2}$"},
                   "signed_on": {"type": "string", "format": "date"},
                   "fulfil_by": {"type": ["string", "null"], "format": "date"},
                   "mediated_by": {"type": "string"}, "mediated_by_name": {"type": "string"}},
}
PRIOR_MEDIATION_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"], "additionalProperties": False,
    "required": ["handoff_id", "agency", "agency_name", "body_type", "result", "acknowledged_at", "concluded_at",
                 "note"],
    "description": "the mediation that failed before this handoff, if any",
    "properties": {"handoff_id": {"type": "string"}, "agency": {"type": "string"}, "agency_name": {"type": "string"},
                   "body_type": {"type": "string"}, "result": {"const": "failed"},
                   "acknowledged_at": {"type": ["string", "null"], "format": "date-time"},
                   "concluded_at": {"type": ["string", "null"], "format": "date-time"},
                   "note": {"type": ["string", "null"]}},
}


def as_json(value: AgreementData | PriorMediation | None) -> dict[str, Any] | None:
    return None if value is None else asdict(value)


def object_schema(title: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, "type": "object",
            "required": sorted(set(required)), "properties": properties, "additionalProperties": False}


def referral(r: ReferralInput, kind: str, *, parties: tuple[PartyData, ...] | None = None,
             parties_key: str = "parties", **extra: Any) -> dict[str, Any]:
    """The shape most bodies take: the common fields, a `kind`, the parties (in full) and extras."""
    chosen = r.parties if parties is None else parties
    return {**common_json(r), "kind": kind, parties_key: [party_json(p) for p in chosen], **extra}


def referral_schema(title: str, kind: str, extra: dict[str, Any], *, min_parties: int = 2,
                    parties_key: str = "parties") -> dict[str, Any]:
    """The JSON Schema of a `referral` payload; every property is required."""
    props = {**COMMON_PROPERTIES, "kind": {"const": kind},
             parties_key: {"type": "array", "minItems": min_parties, "items": PARTY_SCHEMA}, **extra}
    return object_schema(title, props, list(props))


# --------------------------------------------------------------------------- sending
@dataclass(frozen=True)
class SendResult:
    """outcome: delivered | retry | final. `retry_after` in seconds when the agency said (429/503)."""

    outcome: str
    status: int | None
    error: str | None
    retry_after: float | None
    elapsed: float


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            return None


def classify(status: int, retry_after: str | None, now: float) -> tuple[str, float | None]:
    if 200 <= status < 300:
        return "delivered", None
    if status == 429 or status >= 500:
        return "retry", _retry_after(retry_after, now)
    return "final", None


class SignedSender:
    """The one HTTP client of all adapters (requests, with a pooled session)."""

    def __init__(self, session: requests.Session | None = None, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT) -> None:
        self.session = session or requests.Session()
        self.timeouts = (connect_timeout, read_timeout)

    def send(self, url: str, payload: dict[str, Any], secrets_: list[str], *, idempotency_key: str,
             msg_id: str | None = None, algorithm: str = signing.HMAC_SHA256) -> SendResult:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        now = time.time()
        hdrs = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": idempotency_key,
                "User-Agent": "dispute-router", **signing.headers(secrets_, msg_id, int(now), body, algorithm)}
        t0 = time.perf_counter()
        try:
            r = self.session.post(url, data=body, headers=hdrs, timeout=self.timeouts, allow_redirects=False)
        except requests.Timeout as e:
            return SendResult("retry", None, f"timeout: {e.__class__.__name__}", None, time.perf_counter() - t0)
        except requests.ConnectionError as e:
            return SendResult("retry", None, f"connection error: {str(e)[:200]}", None, time.perf_counter() - t0)
        except requests.RequestException as e:
            return SendResult("final", None, f"request error: {str(e)[:200]}", None, time.perf_counter() - t0)
        elapsed = time.perf_counter() - t0
        outcome, retry_after = classify(r.status_code, r.headers.get("Retry-After"), time.time())
        error = None if outcome == "delivered" else f"HTTP {r.status_code}: {r.text[:200]}"
        return SendResult(outcome, r.status_code, error, retry_after, elapsed)


# --------------------------------------------------------------------------- notices to any body
def urge_notice(handoff_id: str, reference: str, deadline: str, due: str | None, count: int, reason: str,
                at: str, escalated: bool = False) -> dict[str, Any]:
    """催办 / 督办: the same shape for every family of bodies (contracts/urge.schema.json)."""
    return {"kind": "escalation" if escalated else "urge", "handoff_id": handoff_id, "reference": reference,
            "deadline": deadline, "due": due, "count": count, "reason": reason, "at": at}


def recall_notice(handoff_id: str, reference: str, reason: str, at: str) -> dict[str, Any]:
    """撤回: the centre took the handoff back (re-routed, escalated, closed); stop work on it."""
    return {"kind": "recall", "handoff_id": handoff_id, "reference": reference, "deadline": None, "due": None,
            "count": 1, "reason": reason, "at": at}


URGE_SCHEMA: dict[str, Any] = object_schema("催办/督办/撤回通知（所有承办单位通用）", {
    "kind": {"enum": ["urge", "escalation", "recall"]}, "handoff_id": {"type": "string"},
    "reference": {"type": "string"}, "deadline": {"enum": ["ack_due", "handle_due", None]},
    "due": {"type": ["string", "null"], "format": "date-time"}, "count": {"type": "integer", "minimum": 1},
    "reason": {"type": "string"}, "at": {"type": "string", "format": "date-time"}},
    ["kind", "handoff_id", "reference", "deadline", "due", "count", "reason", "at"])


def link_decision_notice(handoff_id: str, reference: str, link_id: str, link_kind: str, body_type: str,
                         decision: str, reason: str, agency: str | None, at: str) -> dict[str, Any]:
    """联动: the answer to a body's link request (contracts/link-decision.schema.json): approved, with
    the agency that now assists (or takes the lead), or refused, with the supervisor's reason."""
    return {"kind": "link_decision", "handoff_id": handoff_id, "reference": reference, "link_id": link_id,
            "link_kind": link_kind, "body_type": body_type, "decision": decision, "reason": reason,
            "link_agency": agency, "at": at}


LINK_DECISION_SCHEMA: dict[str, Any] = object_schema("联动申请答复（所有承办单位通用）", {
    "kind": {"const": "link_decision"}, "handoff_id": {"type": "string", "description": "the handoff that asked"},
    "reference": {"type": "string"}, "link_id": {"type": "string"},
    "link_kind": {"enum": ["assist", "expert", "transfer"]}, "body_type": {"type": "string"},
    "decision": {"enum": ["approved", "refused", "withdrawn"]}, "reason": {"type": "string"},
    "link_agency": {"type": ["string", "null"],
                    "description": "approved: the agency that assists or takes the lead"},
    "at": {"type": "string", "format": "date-time"}},
    ["kind", "handoff_id", "reference", "link_id", "link_kind", "body_type", "decision", "reason", "link_agency",
     "at"])
