"""The Chinese names of the vocabularies as template filters (`{{ state | handoff_state_zh }}`), and
instants as Beijing wall-clock time: the web pages and the PDFs say the same words."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from router.domain.model import (
    BODY_NAMES_ZH,
    PARTY_KIND_ZH,
    PARTY_ROLE_ZH,
    RISK_ZH,
    ROLE_ZH,
    SATISFACTION_ZH,
    SOURCE_ZH,
    TIER_NAMES_ZH,
    WISH_ZH,
)
from router.workflows.dispute import STATE_NAMES_ZH as DISPUTE_STATES_ZH
from router.workflows.handoff import STATE_NAMES_ZH as HANDOFF_STATES_ZH

NAMES: dict[str, Mapping[Any, str]] = {
    "dispute_state": DISPUTE_STATES_ZH, "handoff_state": HANDOFF_STATES_ZH, "body": BODY_NAMES_ZH,
    "tier": TIER_NAMES_ZH, "role": ROLE_ZH, "source": SOURCE_ZH, "wish": WISH_ZH, "risk": RISK_ZH,
    "party_role": PARTY_ROLE_ZH, "party_kind": PARTY_KIND_ZH, "satisfaction": SATISFACTION_ZH}


def name_filters(tables: Mapping[str, Mapping[Any, str]]) -> dict[str, Callable[[Any], str]]:
    """`<name>_zh` for each table: the Chinese name of a code, the code itself when it has none."""
    return {f"{name}_zh": (lambda v, t=table: t.get(v, v) if v is not None else "") for name, table in tables.items()}


def local_time(value: str | datetime | None, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant (or its ISO text) as wall-clock time in `tz`; blank for none."""
    if not value:
        return ""
    t = datetime.fromisoformat(value) if isinstance(value, str) else value
    return t.astimezone(tz).strftime(fmt)
