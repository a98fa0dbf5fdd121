"""Data minimisation per recipient (docs/domain.md §9, 个人信息保护法 6, 13, 23): which of a party's
personal data (ID number, phone) each body gets, by body type and by its role on the dispute (an
assisting body gets no more than the lead), and whether the party agreed to share them or a legal
basis stands in for consent (a 110 警情, a court's referral, a legal duty). Names, roles and
organisations' credit codes always go: a body cannot work a case without knowing who is in it."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from router.domain.errors import ConfigError

SHAREABLE = ("id_number", "phone")
ROLES = ("lead", "assist", "confirm", "enforce")
# Without a `share:` entry: the lead and a court get both, an assisting body only the phone.
DEFAULT_SHARE: Mapping[str, frozenset[str]] = {"lead": frozenset(SHAREABLE), "assist": frozenset({"phone"}),
                                               "confirm": frozenset(SHAREABLE), "enforce": frozenset(SHAREABLE)}


class SharingBasis(StrEnum):
    """Why a party's data may go to a body although the party did not consent."""

    POLICE_REPORT = "police_report"    # 110 警情: the police already hold the report
    COURT_REFERRAL = "court_referral"  # 法院委派/委托调解
    LEGAL_DUTY = "legal_duty"          # 法律、行政法规规定的职责（个人信息保护法第13条）
    EMERGENCY = "emergency"            # 为应对突发事件或紧急情况下保护生命健康


SHARING_BASIS_ZH = {SharingBasis.POLICE_REPORT: "110警情（公安机关已掌握）",
                    SharingBasis.COURT_REFERRAL: "法院委派、委托调解",
                    SharingBasis.LEGAL_DUTY: "履行法定职责所必需",
                    SharingBasis.EMERGENCY: "紧急情况下保护生命健康"}


def share_config(raw: Any, key: str, file: str) -> dict[str, frozenset[str]]:
    """bodies.yaml `share: {lead: [phone], assist: []}` for one body type; roles left out keep the default."""
    if raw is None:
        return dict(DEFAULT_SHARE)
    if not isinstance(raw, Mapping) or any(r not in ROLES for r in raw):
        raise ConfigError(file, key, f"must map {', '.join(ROLES)} to lists of {', '.join(SHAREABLE)}")
    out = dict(DEFAULT_SHARE)
    for role, fields in raw.items():
        if not isinstance(fields, list) or any(f not in SHAREABLE for f in fields):
            raise ConfigError(file, f"{key}.{role}", f"must be a list of {', '.join(SHAREABLE)}")
        out[str(role)] = frozenset(fields)
    if not out["assist"] <= out["lead"]:
        raise ConfigError(file, f"{key}.assist", "an assisting body gets no more than the lead")
    return out


def shared_fields(share: Mapping[str, frozenset[str]], role: str, consent: bool, basis: str | None) -> frozenset[str]:
    """What of one party goes to one body: its role's fields, if the party agreed or a basis stands."""
    if not consent and not basis:
        return frozenset()
    return share.get(role, frozenset())
