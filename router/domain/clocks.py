"""The clocks bodies.yaml may add to the per-body deadlines (docs/domain.md §5-6): urgent
acknowledgement clocks (12345 life safety 15 minutes, utilities 30; police within 24 hours for
domestic violence and violence threats), whose warnings come minutes or hours before, not a working
day; and the optional time boxes of tiered handling (四级七天: village 3 days, town 3, district 7),
after which a dispute without an outcome is lifted (上交) to the next tier."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from router.domain.calendar import Period
from router.domain.errors import ConfigError, reject_unknown_keys
from router.domain.model import RiskFlag, Tier

FILE = "bodies.yaml"


class Urgency(StrEnum):
    """Marked at intake (a 12345 order's own urgency)."""

    LIFE_SAFETY = "life_safety"  # 涉及生命安全
    UTILITIES = "utilities"      # 水电气暖等民生保障


URGENCY_ZH = {Urgency.LIFE_SAFETY: "涉及生命安全（紧急）", Urgency.UTILITIES: "水电气暖（加急）"}
VIOLENCE = "violence"  # the police's clock on a dispute flagged domestic violence or a violence threat
VIOLENCE_FLAGS = frozenset({RiskFlag.DOMESTIC_VIOLENCE, RiskFlag.VIOLENCE_THREAT})
URGENT_KEYS = ("acknowledge", "warn_before", "basis")


@dataclass(frozen=True)
class UrgentClock:
    acknowledge: Period
    warn_before: Period
    basis: str

    def rule(self, name: str) -> str:
        return f"urgent.{name}.acknowledge={self.acknowledge}（{self.basis}）"


def urgent_clocks(raw: Any) -> dict[str, UrgentClock]:
    """`urgent:` in bodies.yaml: life_safety, utilities and violence, each acknowledge and warn_before
    (minutes allowed: these clocks are real), with its basis."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(FILE, "urgent", "must be a mapping of life_safety, utilities, violence")
    reject_unknown_keys(FILE, "urgent", raw, (*(str(u) for u in Urgency), VIOLENCE))
    out = {}
    for name, d in raw.items():
        key = f"urgent.{name}"
        if not isinstance(d, Mapping):
            raise ConfigError(FILE, key, "must be a mapping of acknowledge, warn_before, basis")
        reject_unknown_keys(FILE, key, d, URGENT_KEYS)
        ack, warn = _clock(d.get("acknowledge"), f"{key}.acknowledge"), _clock(d.get("warn_before"),
                                                                                f"{key}.warn_before")
        out[str(name)] = UrgentClock(ack, warn, str(d.get("basis", "")))
    return out


def time_boxes(raw: Any) -> dict[Tier, Period]:
    """`time_boxes:` in bodies.yaml (optional): a period per tier; none configured, none applies."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(FILE, "time_boxes", "must be a mapping of tier to period, e.g. {village: 3c}")
    out = {}
    for tier, v in raw.items():
        try:
            t = Tier(tier)
        except ValueError:
            raise ConfigError(FILE, f"time_boxes.{tier}", "unknown tier") from None
        out[t] = _clock(v, f"time_boxes.{tier}")
    return out


def _clock(v: Any, key: str) -> Period:
    try:
        p = Period.parse(str(v or ""))
    except ValueError as e:
        raise ConfigError(FILE, key, str(e)) from None
    if p.unit.value == "seconds":
        raise ConfigError(FILE, key, "seconds are for demo and test configs only")
    return p
