"""What supervisors measure (docs/reports.md §1): the KPI codes, their names, and the thresholds of
config/reports.yaml (targets, the n an agency needs to be ranked, the early-warning rules). Pure data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from router.domain.errors import ConfigError, reject_unknown_keys

FILE = "reports.yaml"


@dataclass(frozen=True)
class Kpi:
    code: str
    name_zh: str
    name_en: str
    kind: str  # count | rate | sum


KPIS: tuple[Kpi, ...] = (
    Kpi("received", "受理数", "disputes received", "count"),
    Kpi("concluded", "办结数", "disputes concluded", "count"),
    Kpi("success_rate", "调解成功率", "mediation success rate", "rate"),
    Kpi("local_resolution_rate", "就地化解率", "resolved locally (grid, village, town)", "rate"),
    Kpi("fulfilment_rate", "履行率", "agreements fulfilled", "rate"),
    Kpi("timely_ack_rate", "及时签收率", "handoffs acknowledged in time", "rate"),
    Kpi("on_time_completion_rate", "按时办结率", "outcomes by the handling deadline", "rate"),
    Kpi("overdue_rate", "超期率", "handoffs past their handling deadline", "rate"),
    Kpi("return_rate", "退回率", "handoffs returned", "rate"),
    Kpi("satisfaction_rate", "回访满意率", "follow-up visits satisfied", "rate"),
    Kpi("judicial_confirmations", "司法确认数", "agreements confirmed by a court", "count"),
    Kpi("amount_resolved", "涉及金额", "amount of the agreements (CNY)", "sum"),
    Kpi("online_share", "线上受理占比", "received online", "rate"),
    Kpi("prevented_escalations", "预防民转刑/群体性", "resolved disputes flagged violence or group", "count"),
    Kpi("litigation_diverted", "诉讼引流", "court referrals resolved by mediation", "count"),
)
KPI_BY_CODE = {k.code: k for k in KPIS}
# The dates a report may name: wide enough for any centre's history, and far from the calendar's ends
# (a period's previous one is computed by subtracting its length).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
GROUPS = ("category", "tier", "agency", "source", "month", "division")


@dataclass(frozen=True)
class Thresholds:
    """config/reports.yaml: every number a report or a warning compares with, with its default."""

    targets: Mapping[str, float] = field(default_factory=lambda: {
        "success_rate": 0.98, "local_resolution_rate": 0.90, "timely_ack_rate": 0.95,
        "on_time_completion_rate": 0.95, "satisfaction_rate": 0.95, "fulfilment_rate": 0.90,
        "overdue_rate": 0.05, "return_rate": 0.10})
    ranking_min_n: int = 5
    cluster_size: int = 3
    cluster_days: int = 7
    repeat_party_disputes: int = 3
    repeat_party_days: int = 90
    agency_window_days: int = 30
    agency_min_n: int = 5
    agency_return_share: float = 0.5
    agency_failed_deliveries: int = 5
    agency_down_minutes: int = 30
    rising_share: float = 1.5
    rising_min: int = 3

    # Lower is better for these: their target is a ceiling, not a floor.
    CEILINGS = frozenset({"overdue_rate", "return_rate"})

    def meets(self, code: str, value: float | None) -> bool | None:
        target = self.targets.get(code)
        if target is None or value is None:
            return None
        return value <= target if code in self.CEILINGS else value >= target

    def rising(self, now: int, before: int) -> bool:
        """A category rises when it has at least `rising_min` disputes and `rising_share` times the last period's."""
        return now >= self.rising_min and now >= before * self.rising_share and now > before

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Thresholds:
        if not data:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigError(FILE, "(top)", "must be a mapping")
        base = cls()
        names = [f for f in cls.__dataclass_fields__ if f != "targets"]
        reject_unknown_keys(FILE, "", data, ["targets", *names])
        targets = dict(base.targets)
        raw_targets = data.get("targets") or {}
        if not isinstance(raw_targets, Mapping):
            raise ConfigError(FILE, "targets", "must be a mapping of KPI code to a share between 0 and 1")
        reject_unknown_keys(FILE, "targets", raw_targets, [k.code for k in KPIS if k.kind == "rate"])
        for code, v in raw_targets.items():
            targets[code] = _share(f"targets.{code}", v)
        values: dict[str, Any] = {}
        for name in names:
            if name in data:
                is_share = isinstance(getattr(base, name), float)
                values[name] = _share(name, data[name], 10.0) if is_share else _count(name, data[name])
        return cls(targets=targets, **values)


def _share(key: str, v: Any, top: float = 1.0) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= top:
        raise ConfigError(FILE, key, f"must be a number between 0 and {top:g}")
    return float(v)


def _count(key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ConfigError(FILE, key, "must be a whole number of at least 1")
    return v
