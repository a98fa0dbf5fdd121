"""Inbound referrals (诉前委派, 110 纠纷类警情, 信访件 ...) and what goes back to their sender: each
family's own fields taken in, and the `referral.status` notices and the final `referral.result`
(contracts/referral-status.schema.json, referral-result.schema.json), with the sender's number."""

from __future__ import annotations

from typing import Any

from router.adapters.base import object_schema
from router.domain.model import CLOSURE_ZH

# Closures that undo an agreement's success for the sender: it is told the matter was not resolved.
NOT_RESOLVED = frozenset({"guided_to_litigation", "returned_to_court", "failed", "withdrawn", "not_accepted"})
# What each family's result is called: 委派调解结果反馈, 回告, 办理结果.
RESULT_NAME = {"court": "委派调解结果反馈", "police": "警情调处回告", "petition": "信访事项办理结果",
               "procuratorate": "办理结果", "labour_arbitration": "调解结果", "hotline_12345": "回单"}


def status_notice(referral_no: str, reference: str, state: str, state_text: str, at: str,
                  detail: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "referral_status", "referral_no": referral_no, "reference": reference, "status": state,
            "status_text": state_text, "at": at, "detail": detail}


def result_notice(family: str, referral_no: str, reference: str, at: str, closure: dict[str, Any],
                  outcome: dict[str, Any] | None) -> dict[str, Any]:
    """The end: how it was closed, and for an agreement its terms (a court confirms or proceeds on them)."""
    code = closure.get("code", "")
    outcome = outcome or {}
    agreement = outcome.get("agreement") if outcome.get("result") == "agreement" else None
    return {"kind": "referral_result", "name": RESULT_NAME.get(family, "办理结果"), "referral_no": referral_no,
            "reference": reference, "at": at, "result": code, "result_text": CLOSURE_ZH.get(code, code),
            "mediation_result": outcome.get("result"), "reason": closure.get("reason", ""),
            "agreement": {"terms": agreement.get("terms"), "amount": agreement.get("amount"),
                          "fulfil_by": agreement.get("fulfil_by")} if agreement else None,
            "resolved": outcome.get("result") == "agreement" and code not in NOT_RESOLVED}


NOTICE_SCHEMAS: dict[str, dict[str, Any]] = {
    "referral-status": object_schema("转办/委派事项进度通知", {
        "kind": {"const": "referral_status"}, "referral_no": {"type": "string"}, "reference": {"type": "string"},
        "status": {"type": "string"}, "status_text": {"type": "string"},
        "at": {"type": "string", "format": "date-time"}, "detail": {"type": "object"}},
        ["kind", "referral_no", "reference", "status", "status_text", "at"]),
    "referral-result": object_schema("转办/委派事项办理结果", {
        "kind": {"const": "referral_result"}, "name": {"type": "string"}, "referral_no": {"type": "string"},
        "reference": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
        "result": {"type": "string"}, "result_text": {"type": "string"},
        "mediation_result": {"type": ["string", "null"]}, "reason": {"type": "string"},
        "agreement": {"type": ["object", "null"], "properties": {
            "terms": {"type": ["string", "null"]}, "amount": {"type": ["string", "null"]},
            "fulfil_by": {"type": ["string", "null"]}}},
        "resolved": {"type": "boolean"}},
        ["kind", "name", "referral_no", "reference", "at", "result", "result_text", "reason", "agreement",
         "resolved"]),
}



def family_result_schemas() -> dict[str, dict[str, Any]]:
    """The result per referring family (contracts/referral-result-<body type>.schema.json): the same
    shape, with the family's own name for it (委派调解结果反馈, 警情调处回告, 信访事项办理结果 ...)."""
    base = NOTICE_SCHEMAS["referral-result"]
    return {f"referral-result-{family}": {**base, "title": f"{base['title']}（{name}）",
                                          "properties": {**base["properties"], "name": {"const": name}}}
            for family, name in RESULT_NAME.items() if family != "hotline_12345"}
