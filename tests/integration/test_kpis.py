"""Every KPI of docs/reports.md §1 on a hand-built set of disputes, each figure worked out by hand below.

The disputes (all in one village unless said; the period is November 2026, the report is run on
5 December, so what is still open by its deadline then is late):
  S1  flagged violence_threat (town people's mediation, police assisting); acknowledged in time, agreement
      of 5000 on 11-10, fulfilled 11-12, follow-up satisfied 11-20.
  S2  CONTRACT at the town, escalated to the district (the town's handoff recalled before its ack_due);
      agreement without an amount (its claimed 12000 counts) on 11-15, judicially confirmed 11-20.
  S3  LABOUR: labour mediation fails on 11-09, arbitration agrees on 100 on 11-20, fulfilled 11-25,
      follow-up dissatisfied 11-28: 重办, the arbitration commission offered it again that day and
      has not acknowledged it by its ack_due (12-03).
  S4  mediation fails on 11-16: guided to litigation (failed).
  S5  withdrawn on 11-11 (not concluded).
  S6  returned by the village on 11-11; the next body never acknowledges.
  S7  acknowledged late (11-18), still handling.
  S8  registered and acknowledged in OCTOBER; agreement of 800 on 11-12, after its handling deadline;
      fulfilled 11-13, follow-up basically satisfied 11-25.
  S9  acknowledged 11-03, no outcome by its handling deadline 12-03: overdue now.
  S10 online, in another town, never acknowledged.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from router.services import figures
from router.services.kpis import behind, report
from router.services.measures import Filter
from router.store.report_models import DisputeFigures, FollowUp, HandoffFigures
from tests.builders import county
from tests.scenarios import NOV, build


@pytest.fixture
def scenarios(svc, clock) -> dict[str, Any]:
    return build(svc, clock)


def kpis(svc, f: Filter) -> dict[str, dict[str, Any]]:
    return {k["code"]: k for k in report(svc.ctx, f)["kpis"]}


def rate(k: dict[str, Any]) -> tuple[int, int, float | None]:
    return k["numerator"], k["denominator"], k["value"]


def test_every_kpi_of_november_as_worked_out_by_hand(svc, scenarios):
    k = kpis(svc, Filter(*NOV))
    assert k["received"]["value"] == 9                          # S1-S7, S9, S10 (S8 is October's)
    assert k["concluded"]["value"] == 5                         # S1 S2 S3 S8 resolved, S4 failed; S5 withdrawn
    assert rate(k["success_rate"]) == (4, 5, 0.8)
    assert rate(k["local_resolution_rate"]) == (2, 5, 0.4)      # S1 (town), S8 (village); S2, S3 district
    assert rate(k["fulfilment_rate"]) == (3, 4, 0.75)           # S1, S3, S8; S2 not recorded
    assert k["amount_resolved"]["value"] == "17900.00"          # 5000 + 12000 (claimed) + 100 + 800
    assert k["prevented_escalations"]["value"] == 1             # S1
    assert k["judicial_confirmations"]["value"] == 1            # S2
    assert rate(k["satisfaction_rate"]) == (2, 3, 0.6667)       # S1 satisfied, S8 basically, S3 not
    # lead handoffs offered in November: S1, S2 x2, S3 x3 (the third its 重办), S4, S5, S6 x2, S7, S9, S10
    # = 13; S2's town handoff was recalled before its ack_due, so 12 decided; in time: S1 S2 S3 S3 S4 S5 S9 = 7
    assert rate(k["timely_ack_rate"]) == (7, 12, 0.5833)
    # outcomes in November: S1 S2 S3(failed) S3 S4 S5 S8; S8's came after its handle_due
    assert rate(k["on_time_completion_rate"]) == (6, 7, 0.8571)
    # acknowledged in November: S1 S2 S3 S3 S4 S5 S7 S9; S9 is past its handle_due on 12-05 with no outcome
    assert rate(k["overdue_rate"]) == (1, 8, 0.125)
    assert rate(k["return_rate"]) == (1, 13, 0.0769)            # S6's village handoff
    assert rate(k["online_share"]) == (1, 9, 0.1111)            # S10
    assert k["success_rate"]["target"] == 0.98 and k["success_rate"]["meets_target"] is False
    assert k["overdue_rate"]["meets_target"] is False and k["return_rate"]["meets_target"] is True


def test_a_period_with_nothing_in_it_gives_no_value_not_zero(svc, scenarios):
    k = kpis(svc, Filter(date(2027, 1, 1), date(2027, 1, 31)))
    assert k["received"]["value"] == 0 and k["amount_resolved"]["value"] == "0.00"
    for code in ("success_rate", "timely_ack_rate", "overdue_rate", "satisfaction_rate", "online_share"):
        assert (k[code]["denominator"], k[code]["value"], k[code]["meets_target"]) == (0, None, None), code


def test_october_holds_only_what_happened_in_october(svc, scenarios):
    k = kpis(svc, Filter(date(2026, 10, 1), date(2026, 10, 31)))
    assert k["received"]["value"] == 1 and k["concluded"]["value"] == 0
    assert rate(k["timely_ack_rate"]) == (1, 1, 1.0)            # S8's, offered and acknowledged in October
    assert rate(k["overdue_rate"]) == (1, 1, 1.0)               # S8 acknowledged in October, outcome late


def test_the_division_filter_takes_a_subtree(svc, scenarios):
    tree = svc.ctx.config.divisions
    town = tree.get(county(svc)["v"]).parent
    k = kpis(svc, Filter(*NOV, division=town, division_level="town"))
    assert k["received"]["value"] == 8 and rate(k["online_share"]) == (0, 8, 0.0)  # S10 is elsewhere
    district = tree.get(town).parent
    assert kpis(svc, Filter(*NOV, division=district, division_level="district"))["received"]["value"] == 9


def test_group_by_tier_adds_up_to_the_totals(svc, scenarios):
    r = report(svc.ctx, Filter(*NOV, group_by="tier"))
    by = {g["key"]: {k["code"]: k for k in g["kpis"]} for g in r["groups"]}
    assert rate(by["village"]["success_rate"]) == (1, 2, 0.5)   # S8 resolved, S4 failed
    assert rate(by["town"]["success_rate"]) == (1, 1, 1.0)      # S1
    assert rate(by["district"]["success_rate"]) == (2, 2, 1.0)  # S2, S3
    assert {g["key"]: g["name"] for g in r["groups"]}["village"] == "村(居)"
    totals = {k["code"]: k for k in r["kpis"]}
    assert sum(by[t]["received"]["value"] for t in by) == totals["received"]["value"]


def test_group_by_month_and_category(svc, scenarios):
    months = report(svc.ctx, Filter(date(2026, 10, 1), date(2026, 11, 30), group_by="month"))
    received = {g["key"]: {k["code"]: k for k in g["kpis"]}["received"]["value"] for g in months["groups"]}
    assert received == {"2026-10": 1, "2026-11": 9}
    cats = report(svc.ctx, Filter(*NOV, group_by="category"))
    names = {g["key"]: g["name"] for g in cats["groups"]}
    assert names["LABOUR"] == "劳动争议" or names["LABOUR"]


def test_the_disputes_behind_a_figure_are_the_ones_it_counts(svc, scenarios):
    f = Filter(*NOV)
    resolved = behind(svc.ctx, f, "success_rate", "numerator", 1, 50)
    assert resolved["total"] == 4
    assert {i["id"] for i in resolved["items"]} == {scenarios[s]["id"] for s in ("S1", "S2", "S3", "S8")}
    late = behind(svc.ctx, f, "overdue_rate", "numerator", 1, 50)
    assert [i["id"] for i in late["items"]] == [scenarios["S9"]["id"]]


def test_the_kept_figures_equal_a_rebuild_from_the_event_log(svc, scenarios):
    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with svc.ctx.store.read() as s:
            return {m.__tablename__: sorted(tuple(r) for r in s.execute(select(*m.__table__.columns)))
                    for m in (DisputeFigures, HandoffFigures, FollowUp)}

    kept = snapshot()
    assert len(kept["dispute_figures"]) == 10 and len(kept["follow_ups"]) == 3
    assert figures.rebuild(svc.ctx, batch=3) == 10
    assert snapshot() == kept
