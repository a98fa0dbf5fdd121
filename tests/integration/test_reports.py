"""The per-agency and per-division reports on the hand-built set (tests/scenarios.py), and the
early-warning signals on disputes made for them; every expected number is worked out here."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from router.services import Actor
from router.store.models import Event
from tests.builders import CLERK, body, command, county, events_of, lead_of, move_past, register
from tests.scenarios import build

Q = {"from_": date(2026, 11, 1), "to": date(2026, 11, 30)}
SUP = Actor("user", "report-supervisor", "supervisor")


@pytest.fixture
def scenarios(svc, clock):
    return build(svc, clock)


def test_per_agency_figures_of_the_village_committee(svc, scenarios):
    rows = {r["agency"]: r for r in svc.agency_report(Q)["agencies"]}
    village = rows[lead_of(scenarios["S4"])["agency"]]
    # offered in November: S4 S5 S6 S7 S9 (S8 in October, S10 elsewhere); acknowledged S4 S5 S7 S9;
    # returned S6; overdue S9
    assert {k: village[k] for k in ("offered", "acknowledged", "returned", "expired", "undeliverable", "overdue")} \
        == {"offered": 5, "acknowledged": 4, "returned": 1, "expired": 0, "undeliverable": 0, "overdue": 1}
    # to acknowledge: 1, 1, 3 and 7 days -> median 2 days, p90 3 + 0.7 x 4 = 5.8 days
    assert village["to_acknowledge"] == {"median_s": 2 * 86400.0, "p90_s": 5.8 * 86400}
    # outcomes in November: S4 failed, S5 withdrawn, S8 agreed -> 1 of 2 concluded; in time S4 S5 of 3
    assert (village["success_rate"]["numerator"], village["success_rate"]["denominator"]) == (1, 2)
    assert (village["on_time_completion_rate"]["numerator"], village["on_time_completion_rate"]["denominator"]) \
        == (2, 3)
    assert village["timely_ack_rate"]["value"] == 0.6 and village["ranks"] == {"timely_ack_rate": 1}
    assert village["satisfaction_rate"]["denominator"] == 1  # S8's follow-up
    town = rows[lead_of(scenarios["S1"])["agency"]]
    # S1 in time; S2's recalled before its ack_due leaves the count; S6's re-route never acknowledged
    assert (town["timely_ack_rate"]["numerator"], town["timely_ack_rate"]["denominator"]) == (1, 2)
    assert town["ranks"] == {}  # fewer than five: not ranked


def test_per_division_against_the_previous_month(svc, scenarios):
    c = county(svc)
    tree = svc.ctx.config.divisions
    town, other = tree.get(c["v"]).parent, tree.get(c["v_other_town"]).parent
    r = svc.division_report({**Q, "level": "town"})
    assert (r["previous_from"], r["previous_to"]) == ("2026-10-02", "2026-10-31")
    rows = {d["division"]: d for d in r["divisions"]}
    assert len(rows) == len([d for d in tree.by_code.values() if d.level == "town" and d.parent == tree.centre.code])
    mine = rows[town]
    assert (mine["received"], mine["previous_received"], mine["flagged"]) == (8, 1, 1)
    neighbour = next(x for x in mine["by_category"] if x["category"] == "NEIGHBOUR")
    assert (neighbour["count"], neighbour["previous"], neighbour["rising"]) == (6, 1, True)
    assert mine["rising"] == ["NEIGHBOUR"]
    assert rows[other]["received"] == 1 and rows[other]["rising"] == []
    assert mine["heat"]["received"] == "hot" and rows[other]["heat"]["received"] == "cool"
    assert mine["success_rate"]["value"] == 0.8 and mine["heat"]["success_rate"] == "hot"  # 80 % < 98 % - 10
    assert r["total"]["received"] == 9


def test_villages_of_one_town(svc, scenarios):
    tree = svc.ctx.config.divisions
    village = county(svc)["v"]
    r = svc.division_report({**Q, "division": tree.get(village).parent, "level": "village"})
    rows = {d["division"]: d for d in r["divisions"]}
    assert rows[village]["received"] == 8 and sum(d["received"] for d in rows.values()) == 8


# ---------------------------------------------------------------- early warning
def _system_events(svc, type_: str) -> list[dict]:
    with svc.ctx.store.read() as s:
        return [e.data for e in s.scalars(select(Event).where(Event.stream == "system", Event.type == type_))]


def test_signals_are_raised_once_and_cleared_with_events(svc, clock):
    c = county(svc)
    b = body(c["v"], risk_flags=["domestic_violence"])
    flagged = svc.register_dispute(command(b), CLERK)[1]
    others = [register(svc, c["v"]) for _ in range(2)]  # a cluster of three, each its own applicant
    for category, respondent in (("CONTRACT", "甲公司"), ("DAMAGES", "乙公司")):  # the same applicant again
        other = {"role": "respondent", "kind": "organization", "name": respondent}
        again = svc.register_dispute(command({**b, "category": category, "risk_flags": [],
                                              "parties": [b["parties"][0], other]}), CLERK)[1]
        assert again["duplicate_of"] is None  # other matters, not held for 并单
    first = svc.refresh_warnings()
    kinds = {s["kind"] for s in svc.warnings_report()["signals"]}
    assert kinds == {"flagged_open", "cluster", "repeat_party"}
    cluster = next(s for s in svc.warnings_report()["signals"] if s["kind"] == "cluster")
    assert set(cluster["dispute_ids"]) == {flagged["id"], *(d["id"] for d in others)}
    assert "3件邻里纠纷" in cluster["why"]
    assert events_of(svc, flagged["id"], "warning.raised", data_only=True)[0]["kind"] == "flagged_open"
    assert {e["kind"] for e in _system_events(svc, "warning.raised")} == {"cluster", "repeat_party"}

    assert svc.refresh_warnings()["raised"] == 0  # nothing new: nothing raised twice
    police = next(h for h in flagged["handoffs"] if h["role"] == "assist")
    move_past(clock, police["ack_due"])
    assert svc.refresh_warnings()["raised"] == 1
    assert "flagged_overdue" in {s["kind"] for s in svc.warnings_report()["signals"]}

    svc.act(flagged["id"], {"action": "withdraw", "reason": "申请人撤回"}, SUP)
    out = svc.refresh_warnings()
    assert out["cleared"] == 2  # flagged_open and flagged_overdue: the dispute is no longer open
    cleared = events_of(svc, flagged["id"], "warning.cleared", data_only=True)
    assert {e["kind"] for e in cleared} == {"flagged_open", "flagged_overdue"}
    assert first["raised"] == 4  # flagged_open, cluster, the same ID and the same phone


def test_an_agency_that_returns_most_of_what_it_gets_is_flagged(svc, clock):
    ds = [register(svc, county(svc)["pair"][0]) for _ in range(5)]
    for d in ds[:3]:
        h = lead_of(d)
        svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": "returned",
                                                "reason": "不属本辖区", "basis": "人民调解法第17条"})
    svc.refresh_warnings()
    signals = {s["kind"]: s for s in svc.warnings_report()["signals"]}
    assert signals["agency_returns"]["agency"] == lead_of(ds[0])["agency"]
    assert "退回3件（共接收5件）" in signals["agency_returns"]["why"]
