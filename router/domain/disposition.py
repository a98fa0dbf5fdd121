"""What the window may decide at intake instead of dispatching (docs/domain.md §8): 不予受理, with the
reason's code, its basis and where the party should go instead (the 告知书), or 当场化解, the terms
the parties settled on at the window. Pure data and its checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class DispositionKind(StrEnum):
    NOT_ACCEPTED = "not_accepted"
    RESOLVED_ON_SPOT = "resolved_on_spot"


class NotAcceptedReason(StrEnum):
    IN_LITIGATION = "in_litigation"
    IN_ARBITRATION = "in_arbitration"
    IN_POLICE_PROCEEDINGS = "in_police_proceedings"
    CRIMINAL = "criminal"
    EMERGENCY = "emergency"
    SPECIAL_AUTHORITY = "special_authority"
    OTHER = "other"


@dataclass(frozen=True)
class NotAcceptedText:
    """The code's Chinese text, its basis and, when it says, where the party should go."""

    text: str
    basis: str
    go_to: str | None


_RULE_22 = "《人民调解工作若干规定》第二十二条"
NOT_ACCEPTED_REASONS: dict[NotAcceptedReason, NotAcceptedText] = {
    NotAcceptedReason.IN_LITIGATION: NotAcceptedText(
        "人民法院已经受理", f"{_RULE_22}第（二）项", "请向已受理案件的人民法院了解案件进展；法院可依法委派或委托调解"),
    NotAcceptedReason.IN_ARBITRATION: NotAcceptedText(
        "仲裁机构已经受理", f"{_RULE_22}第（二）项", "请向已受理案件的仲裁委员会了解仲裁进展"),
    NotAcceptedReason.IN_POLICE_PROCEEDINGS: NotAcceptedText(
        "公安机关或其他行政机关已经受理", f"{_RULE_22}第（二）项", "请向已受理的公安机关或行政机关了解处理进展"),
    NotAcceptedReason.CRIMINAL: NotAcceptedText(
        "涉嫌违法犯罪，应由专门机关依法处理", f"{_RULE_22}第（一）项", "请向当地公安机关报案"),
    NotAcceptedReason.EMERGENCY: NotAcceptedText(
        "紧急情况，须由专门机关即时处置", "《人民调解法》第二十五条",
        "请立即拨打110（治安）、119（火警）或120（急救）"),
    NotAcceptedReason.SPECIAL_AUTHORITY: NotAcceptedText(
        "法律、法规规定只能由专门机关管辖处理", f"{_RULE_22}第（一）项", None),
    NotAcceptedReason.OTHER: NotAcceptedText("其他", "", None),
}


@dataclass(frozen=True)
class Disposition:
    """The window's decision, with what each kind needs: a reason code (and where to go) for
    不予受理, the terms (and how they are performed) for 当场化解."""

    kind: DispositionKind
    reason_code: NotAcceptedReason | None = None
    reason: str | None = None
    refer_to: str | None = None
    terms: str | None = None
    amount: Decimal | None = None
    fulfil_by: date | None = None
    fulfilled: bool = False

    def go_to(self) -> str | None:
        """Where the 告知书 sends the party: what the clerk wrote, else the code's own text."""
        if self.refer_to:
            return self.refer_to
        return NOT_ACCEPTED_REASONS[self.reason_code].go_to if self.reason_code else None


def check_disposition(d: Disposition, today: date, err: Callable[[str, str, str], None]) -> None:
    """Report each missing or inconsistent field through `err(path, zh, en)`."""
    p = "disposition"
    if d.kind == DispositionKind.NOT_ACCEPTED:
        if d.reason_code is None:
            err(f"{p}.reason_code", "不予受理必须选择理由", "not_accepted needs a reason_code")
            return
        if d.reason_code == NotAcceptedReason.OTHER and not (d.reason or "").strip():
            err(f"{p}.reason", "理由为“其他”时必须写明具体理由", "reason_code other needs a reason")
        if not d.go_to():
            err(f"{p}.refer_to", "请写明告知当事人的去向（应向哪个机关申请）",
                "refer_to is required for this reason_code")
        for name in ("terms", "amount", "fulfil_by"):
            if getattr(d, name) is not None:
                err(f"{p}.{name}", "不予受理不填写协议内容", f"{name} belongs to resolved_on_spot")
        if d.fulfilled:
            err(f"{p}.fulfilled", "不予受理不能同时登记为已履行", "fulfilled belongs to resolved_on_spot")
        return
    if not (d.terms or "").strip():
        err(f"{p}.terms", "当场化解必须填写协议内容", "resolved_on_spot needs the terms")
    for name in ("reason_code", "reason", "refer_to"):
        if getattr(d, name) is not None:
            err(f"{p}.{name}", "当场化解不填写不予受理理由或去向", f"{name} belongs to not_accepted")
    if d.amount is not None and d.amount < 0:
        err(f"{p}.amount", "金额不能为负数", "amount must not be negative")
    if d.fulfil_by is not None and d.fulfil_by < today:
        err(f"{p}.fulfil_by", "履行期限不能早于今天", "fulfil_by is in the past")
    if d.fulfilled and d.fulfil_by is not None:
        err(f"{p}.fulfil_by", "已当场履行的协议不填写履行期限", "a fulfilled agreement has no fulfil_by")
