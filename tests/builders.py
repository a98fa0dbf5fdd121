"""Builders shared by the test modules: intake bodies and registered disputes.

Test modules import helpers from here, never from one another; fixtures live in tests/conftest.py.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from router.services import Actor

# ---------------------------------------------------------------- the suite's surroundings
ROOT = Path(__file__).resolve().parent.parent
PII_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
AMQP = os.environ.get("ROUTER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Beijing: where the clock fixture starts


def config_dir() -> str:
    """The config directory the suite runs on: ROUTER_TEST_CONFIG_DIR, else the shipped config/."""
    return os.environ.get("ROUTER_TEST_CONFIG_DIR", str(ROOT / "config"))


# ---------------------------------------------------------------- intake
VALID_ID = "110101199003074514"
CLERK = Actor("user", "test-clerk", "clerk")


def county(svc) -> dict[str, Any]:
    """Pick divisions for the scenarios from the configured area (config/divisions.yaml)."""
    tree = svc.ctx.config.divisions
    centre = tree.centre.code[:6]
    villages = sorted((d for d in tree.by_code.values() if d.level == "village"), key=lambda d: d.code)
    own = [v for v in villages if v.code.startswith(centre)]
    by_town: dict[str, list[str]] = {}
    for v in villages:
        by_town.setdefault(v.parent, []).append(v.code)
    pair = next(vs for vs in by_town.values() if len(vs) >= 2)  # two villages of one town, any county
    v = own[-1]
    return {"v": v.code, "pair": pair[:2], "v_other_town": next(o.code for o in own if o.parent != v.parent),
            "v_other_county": next(x.code for x in villages if not x.code.startswith(centre))}


def body(division: str, category: str = "NEIGHBOUR", **kw: Any) -> dict[str, Any]:
    """A valid intake body (a person against a company, both in `division`); `kw` overrides its fields."""
    b = {"source": "walk_in", "source_ref": None, "category": category, "summary": "测试纠纷",
         "amount": "12000.00", "people_involved": 1, "division": division, "occurred_on": "2026-10-01",
         "risk_flags": [], "wish": "mediation",
         "parties": [{"role": "applicant", "kind": "person", "name": "张三", "id_number": VALID_ID,
                      "phone": "13800138000", "division": division},
                     {"role": "respondent", "kind": "organization", "name": "某建筑公司", "division": division}]}
    b.update(kw)
    return b


def command(b: dict[str, Any]) -> Any:
    """The service-layer command for an intake body, loaded and converted as the API does it."""
    from router.api.disputes import to_command
    from router.api.schemas import DisputeIn

    return to_command(DisputeIn().load(b))


def register(svc, division: str | None = None, **kw: Any) -> dict[str, Any]:
    """Register a dispute through the service layer (no HTTP) as a clerk; returns its view."""
    return svc.register_dispute(command(body(division or county(svc)["v"], **kw)), CLERK)[1]
