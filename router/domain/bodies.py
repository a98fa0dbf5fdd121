"""Body types and their deadlines (docs/domain.md §3, §5), built from bodies.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from router.domain.calendar import Period
from router.domain.clocks import UrgentClock, time_boxes, urgent_clocks
from router.domain.errors import ConfigError, reject_unknown_keys
from router.domain.model import REFERRAL_SOURCE, BodyType, Tier
from router.domain.sharing import DEFAULT_SHARE, share_config

FILE = "bodies.yaml"
PERIOD_KEYS = ("acknowledge", "return_within", "handle")
OPTIONAL_PERIOD_KEYS = ("extension", "confirmation_accept", "confirmation_rule", "confirmation_extension")
LADDER_KEYS = ("warn_before", "urge_after", "escalate_after")
LADDER_DEFAULTS = {"warn_before": Period.parse("1w"), "urge_after": Period.parse("1c"),
                   "escalate_after": Period.parse("5w")}  # docs/domain.md §6, from local 12345 practice
FOLLOW_THROUGH_KEYS = ("follow_up_after", "confirmation_window", "max_placements")
BODY_KEYS = ("name", "family", "basis", "escalation", "link_auto_approve", "share", "may_refer", *PERIOD_KEYS,
             *OPTIONAL_PERIOD_KEYS)
FAMILIES = ("mediation", "court", "police", "petition", "procuratorate", "hotline_12345", "labour_arbitration",
            "legal_aid", "expert_panel", "supervision")


@dataclass(frozen=True)
class BodyTypeConfig:
    body_type: BodyType
    name: str
    family: str
    acknowledge: Period
    return_within: Period
    handle: Period
    basis: str
    extra: Mapping[str, Period] = field(default_factory=dict)
    escalation: Mapping[str, Period] = field(default_factory=dict)  # overrides of defaults.escalation
    # 联动: a request for this body type to assist (or give an opinion) needs no supervisor's approval.
    link_auto_approve: bool = False
    # 数据最小化: the party fields (id_number, phone) this body gets, by its role on the dispute.
    share: Mapping[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_SHARE))
    may_refer: bool = False  # its agencies may refer disputes in (POST /api/v1/intake/referral)

    def rule(self, key: str) -> str:
        """A readable statement of the rule behind a deadline, stored with the deadline."""
        period = getattr(self, key, None) or self.extra.get(key)
        return f"{self.body_type}.{key}={period}（{self.basis}）"


@dataclass(frozen=True)
class Bodies:
    types: Mapping[BodyType, BodyTypeConfig]
    escalation: Mapping[str, Period]
    # After an outcome (docs/domain.md §8): follow-up visit after fulfilment, confirmation window.
    follow_up_after: Period = field(default_factory=lambda: Period.parse("30c"))
    confirmation_window: Period = field(default_factory=lambda: Period.parse("30c"))
    max_placements: int = 3
    urgent: Mapping[str, UrgentClock] = field(default_factory=dict)  # life_safety, utilities, violence
    time_boxes: Mapping[Tier, Period] = field(default_factory=dict)  # 分级调处时限, off unless configured

    def __getitem__(self, b: BodyType) -> BodyTypeConfig:
        return self.types[b]

    def ladder(self, b: BodyType) -> Mapping[str, Period]:
        """The escalation ladder of a body type: warn_before, urge_after, escalate_after."""
        return {**LADDER_DEFAULTS, **self.escalation, **self.types[b].escalation}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, allow_short_units: bool = False) -> Bodies:
        if not isinstance(data, Mapping) or not isinstance(data.get("body_types"), Mapping):
            raise ConfigError(FILE, "body_types", "is required (a mapping of body type to deadlines)")
        types: dict[BodyType, BodyTypeConfig] = {}
        for code, d in data["body_types"].items():
            key = f"body_types.{code}"
            try:
                bt = BodyType(code)
            except ValueError:
                raise ConfigError(FILE, key, "unknown body type") from None
            if not isinstance(d, Mapping):
                raise ConfigError(FILE, key, "must be a mapping")
            reject_unknown_keys(FILE, key, d, BODY_KEYS)
            if d.get("family") not in FAMILIES:
                raise ConfigError(FILE, f"{key}.family", f"must be one of {', '.join(FAMILIES)}")
            periods = {k: _period(d.get(k), f"{key}.{k}", allow_short_units) for k in PERIOD_KEYS}
            extra = {k: _period(d[k], f"{key}.{k}", allow_short_units) for k in OPTIONAL_PERIOD_KEYS if k in d}
            esc = _ladder(d.get("escalation"), f"{key}.escalation", allow_short_units)
            auto, refers = d.get("link_auto_approve", False), d.get("may_refer", False)
            for flag, v in (("link_auto_approve", auto), ("may_refer", refers)):
                if not isinstance(v, bool):
                    raise ConfigError(FILE, f"{key}.{flag}", "must be true or false")
            if refers and str(bt) not in REFERRAL_SOURCE:
                raise ConfigError(FILE, f"{key}.may_refer", f"only {', '.join(REFERRAL_SOURCE)} may refer")
            types[bt] = BodyTypeConfig(bt, str(d.get("name") or code), str(d["family"]), basis=str(d.get("basis", "")),
                                       extra=extra, escalation=esc, link_auto_approve=auto,
                                       share=share_config(d.get("share"), f"{key}.share", FILE), may_refer=refers,
                                       **periods)
        missing = [str(b) for b in BodyType if b not in types]
        if missing:
            raise ConfigError(FILE, "body_types", f"missing body types: {', '.join(missing)}")
        reject_unknown_keys(FILE, "", data, ("defaults", "body_types", "urgent", "time_boxes"))
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            raise ConfigError(FILE, "defaults", "must be a mapping of escalation and follow_through")
        reject_unknown_keys(FILE, "defaults", defaults, ("escalation", "follow_through"))
        escalation = _ladder(defaults.get("escalation"), "defaults.escalation", allow_short_units)
        ft = defaults.get("follow_through") or {}
        if not isinstance(ft, Mapping):
            raise ConfigError(FILE, "defaults.follow_through", "must be a mapping")
        reject_unknown_keys(FILE, "defaults.follow_through", ft, FOLLOW_THROUGH_KEYS)
        periods = {k: _period(ft[k], f"defaults.follow_through.{k}", allow_short_units)
                   for k in ("follow_up_after", "confirmation_window") if k in ft}
        max_placements = ft.get("max_placements", 3)
        if not isinstance(max_placements, int) or isinstance(max_placements, bool) or max_placements < 1:
            raise ConfigError(FILE, "defaults.follow_through.max_placements", "must be a whole number >= 1")
        return cls(types, escalation, max_placements=max_placements, urgent=urgent_clocks(data.get("urgent")),
                   time_boxes=time_boxes(data.get("time_boxes")), **periods)


def _ladder(raw: Any, key: str, allow_short_units: bool) -> dict[str, Period]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(FILE, key, "must be a mapping of warn_before, urge_after, escalate_after")
    reject_unknown_keys(FILE, key, raw, LADDER_KEYS)
    return {k: _period(v, f"{key}.{k}", allow_short_units) for k, v in raw.items()}


def _period(v: Any, key: str, allow_short_units: bool) -> Period:
    if v in (None, ""):
        raise ConfigError(FILE, key, "is required (e.g. 3w, 30c, 24h)")
    try:
        p = Period.parse(str(v))
    except ValueError as e:
        raise ConfigError(FILE, key, str(e)) from None
    if p.unit.value in ("minutes", "seconds") and not allow_short_units:
        raise ConfigError(FILE, key, "minutes and seconds are for demo and test configs only "
                                     "(set ROUTER_ALLOW_SHORT_DEADLINES=1)")
    return p
