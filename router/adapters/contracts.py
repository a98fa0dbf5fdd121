"""contracts/handoff-<body_type>.schema.json: each adapter's JSON Schema with a worked example.

Generated from the adapters (`dispute-router contracts --write contracts/`) so the published
contract can never drift from what is sent; a test keeps the checked-in files current.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from router.adapters import adapter_for, all_body_types, hotline_12345, referrals
from router.adapters.base import (
    LINK_DECISION_SCHEMA,
    URGE_SCHEMA,
    PartyData,
    ReferralInput,
    link_decision_notice,
    urge_notice,
)
from router.adapters.supervision import SUPERVISION_SCHEMA, supervision_notice


def sample_context(body_type: str) -> ReferralInput:
    r = _sample(body_type)
    if body_type == "expert_panel":  # asked mid-case (联动) by the lead
        r = replace(r, role="assist", question="工伤等级与赔偿标准是否适用本地标准？", asked_by="ZJ-LM-330681101")
    return r


def _sample(body_type: str) -> ReferralInput:
    return ReferralInput(
        handoff_id="7d0f7c55-4a55-4f47-9d7e-2f3b8a0c1e11", role="lead", designated=False, placement=1,
        body_type=body_type, agency_code="ZJ-EXAMPLE", agency_name="示例承办单位",
        dispute_id="0b8e2c4e-1f7a-4a8e-9f57-5d1c7d3a9b20", reference="诸暨调〔2026〕000123号", source="walk_in",
        source_ref=None, category="LABOUR", category_name="劳动争议纠纷", summary="拖欠工资三个月", amount="12000.00",
        people_involved=1, division="330681001001", occurred_on="2026-10-01", risk_flags=("violence_threat",),
        wish="mediation", tier="town",
        parties=(PartyData("applicant", "person", "张三", "330681001001", "110101199003074514", "13800138000", None),
                 PartyData("respondent", "organization", "某建筑公司", None, None, None, "91350100M000100Y43")),
        deadlines={"ack_due": "2026-11-26T23:59:59+08:00", "return_due": "2026-11-26T23:59:59+08:00",
                   "handle_due": None},
        deadline_rules={"ack_due": "labour_mediation.acknowledge=3w"},
        reasons=({"rule": "category.LABOUR", "text": "劳动争议纠纷：默认由劳动争议调解组织在乡镇(街道)层级调处"},),
        assisting=(),
        callback_url="http://127.0.0.1:8000/api/v1/agency/handoffs/7d0f7c55-4a55-4f47-9d7e-2f3b8a0c1e11/events",
        offered_at="2026-11-23T10:00:00+08:00")


def contract(body_type: str) -> dict[str, Any]:
    adapter = adapter_for(body_type)
    schema = adapter.schema(body_type)
    schema["$id"] = f"handoff-{body_type}.schema.json"
    schema["examples"] = [adapter.build(sample_context(body_type))]
    return schema


def notice_contracts() -> dict[str, dict[str, Any]]:
    """The 12345 hotline's progress notices and final reply (回单), with examples."""
    examples = {
        "hotline-status": hotline_12345.status_notice("GD20261123000123", "诸暨调〔2026〕000123号", "in_handling",
                                                      "2026-11-24T09:30:00+08:00",
                                                      {"trigger": "start_handling", "lead_agency": "ZJ-LM-330681101"}),
        "hotline-reply": hotline_12345.final_reply("GD20261123000123", "诸暨调〔2026〕000123号",
                                                   "2027-01-20T16:00:00+08:00",
                                                   {"code": "followed_up", "reason": "已回访（满意）：工资已全部支付"},
                                                   {"result": "agreement"}),
    }
    examples["urge"] = urge_notice("7d0f7c55-4a55-4f47-9d7e-2f3b8a0c1e11", "诸暨调〔2026〕000123号", "handle_due",
                                   "2026-12-23T23:59:59+08:00", 1, "办理期限已过，请尽快办结并报告结果",
                                   "2026-12-24T23:59:59+08:00")
    examples["link-decision"] = link_decision_notice(
        "7d0f7c55-4a55-4f47-9d7e-2f3b8a0c1e11", "诸暨调〔2026〕000123号", "5f1d2c3b-0a9e-4d8c-b7a6-1e2f3a4b5c6d",
        "assist", "police", "approved", "当事人情绪激动，有冲突风险，同意派出所协助", "ZJ-PS-330681001",
        "2026-11-25T09:00:00+08:00")
    examples["supervision-notice"] = supervision_notice(
        "ZJ-PM-330681101201", "龙溪村人民调解委员会", "7d0f7c55-4a55-4f47-9d7e-2f3b8a0c1e11", "诸暨调〔2026〕000123号",
        "handle_due", "2026-12-23T23:59:59+08:00", 2, "办理超期未结，已列入督办（期限2026-12-23T23:59:59+08:00）",
        "2026-12-31T09:00:00+08:00")
    examples["referral-status"] = referrals.status_notice(
        "(2026)浙0681民诉前调1234号", "诸暨调〔2026〕000123号", "in_handling", "承办单位已签收办理",
        "2026-11-24T09:30:00+08:00", {"trigger": "start_handling", "lead_agency": "ZJ-PM-330681101000"})
    examples["referral-result"] = referrals.result_notice(
        "court", "(2026)浙0681民诉前调1234号", "诸暨调〔2026〕000123号", "2026-12-10T16:00:00+08:00",
        {"code": "followed_up", "reason": "已回访（满意）"},
        {"result": "agreement", "agreement": {"terms": "被告分两期支付货款8万元", "amount": "80000.00",
                                              "fulfil_by": "2026-12-31"}})
    for name in referrals.family_result_schemas():
        family = name.removeprefix("referral-result-")
        examples[name] = {**examples["referral-result"], "name": referrals.RESULT_NAME[family]}
    out = {}
    for name, schema in {**hotline_12345.NOTICE_SCHEMAS, **referrals.NOTICE_SCHEMAS,
                         **referrals.family_result_schemas(), "urge": URGE_SCHEMA,
                         "link-decision": LINK_DECISION_SCHEMA, "supervision-notice": SUPERVISION_SCHEMA}.items():
        out[name] = {**schema, "$id": f"{name}.schema.json", "examples": [examples[name]]}
    return out


def render_all() -> dict[str, str]:
    docs = {f"handoff-{b}.schema.json": contract(b) for b in all_body_types()}
    docs.update({f"{name}.schema.json": doc for name, doc in notice_contracts().items()})
    return {name: json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n" for name, doc in docs.items()}


def write_all(directory: Path) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in render_all().items():
        (directory / name).write_text(text, encoding="utf-8")
        out.append(name)
    return out
