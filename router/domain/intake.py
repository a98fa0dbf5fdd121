"""Domain validation of an intake registration (受理登记), after the schema checked types.

All problems are collected so the clerk sees every field to fix at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from router.domain import ids
from router.domain.disposition import Disposition, check_disposition
from router.domain.divisions import DivisionTree
from router.domain.errors import ValidationError
from router.domain.model import DisputeFacts, Feature, Party, PartyKind, PartyRole, RiskFlag, Source, Wish
from router.domain.ruleset import RuleSet


@dataclass(frozen=True)
class IntakeCommand:
    source: Source
    category: str
    summary: str
    division: str
    parties: tuple[Party, ...]
    source_ref: str | None = None
    amount: Decimal | None = None
    people_involved: int = 1
    occurred_on: date | None = None
    risk_flags: frozenset[RiskFlag] = frozenset()
    features: frozenset[Feature] = frozenset()
    wish: Wish = Wish.UNSPECIFIED
    disposition: Disposition | None = None  # decided at the window instead of dispatching
    urgency: str | None = None  # life_safety | utilities (a 12345 order's): minutes, not days, to 签收
    referral: dict[str, Any] | None = None  # an inbound referral: its sender and that family's own fields

    def facts(self, key: str = "") -> DisputeFacts:
        return DisputeFacts(category=self.category, division=self.division, source=self.source,
                            people_involved=self.people_involved, amount=self.amount, risk_flags=self.risk_flags,
                            features=self.features, wish=self.wish, parties=self.parties,
                            occurred_on=self.occurred_on, summary=self.summary, key=key)


def validate_intake(cmd: IntakeCommand, ruleset: RuleSet, divisions: DivisionTree, today: date) -> IntakeCommand:
    """Return the command with identifiers normalised, or raise ValidationError naming every bad field."""
    errors: dict[str, list[tuple[str, str]]] = {}

    def err(path: str, zh: str, en: str) -> None:
        errors.setdefault(path, []).append((zh, en))

    if cmd.category not in ruleset.categories:
        err("category", f"未知的纠纷类型：{cmd.category}", f"unknown category {cmd.category!r}")
    if divisions.get(cmd.division) is None:
        err("division", f"不在本中心辖区的区划代码：{cmd.division}", f"unknown division {cmd.division!r}")
    if cmd.amount is not None and cmd.amount < 0:
        err("amount", "金额不能为负数", "amount must not be negative")
    if cmd.people_involved < 1:
        err("people_involved", "涉及人数至少为1", "people_involved must be at least 1")
    if cmd.occurred_on is not None and cmd.occurred_on > today:
        err("occurred_on", "发生日期不能晚于今天", "occurred_on is in the future")
    if cmd.disposition is not None:
        check_disposition(cmd.disposition, today, err)
    roles = {p.role for p in cmd.parties}
    if PartyRole.APPLICANT not in roles:
        err("parties", "至少需要一名申请人", "at least one applicant is required")
    if PartyRole.RESPONDENT not in roles:
        err("parties", "至少需要一名被申请人", "at least one respondent is required")

    parties = []
    for i, p in enumerate(cmd.parties):
        changes: dict[str, str] = {}
        for field, check in (("id_number", lambda v: ids.validate_id_number(v, today=today)),
                             ("phone", ids.validate_mobile), ("credit_code", ids.validate_credit_code)):
            value = getattr(p, field)
            if value:
                try:
                    changes[field] = check(value)
                except ValidationError as e:
                    err(f"parties.{i}.{field}", e.message_zh, e.message_en)
        if p.id_number and p.kind != PartyKind.PERSON:
            err(f"parties.{i}.id_number", "只有自然人当事人填写身份证号码", "only a person has an ID number")
        if p.division and divisions.get(p.division) is None and not (len(p.division) == 12 and p.division.isdigit()):
            err(f"parties.{i}.division", "区划代码应为12位数字", "division must be a 12-digit code")
        parties.append(replace(p, **changes))
    if errors:
        raise ValidationError("提交的受理登记有误，请按字段提示修改", "the registration has invalid fields",
                              fields=errors)
    return replace(cmd, parties=tuple(parties))
