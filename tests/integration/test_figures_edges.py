"""Edges of the KPI figures (docs/reports.md §1) and of the kept rows against a `rebuild` from the event log
(§2), found by the issue-10 review; each failed before its fix."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select, update

from router.services import Actor, figures
from router.services.kpis import report
from router.services.measures import Filter
from router.store.models import Agency
from router.store.report_models import DisputeFigures, FollowUp, HandoffFigures
from tests.builders import at, county, lead_of, move_past, register
from tests.scenarios import agreement

SUP = Actor("user", "probe-supervisor", "supervisor")


def _event(svc, h: dict[str, Any], type_: str, **body: Any) -> None:
    svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": type_, **body})


def _kpis(svc, f: Filter) -> dict[str, dict[str, Any]]:
    return {k["code"]: k for k in report(svc.ctx, f)["kpis"]}


def _snapshot(svc) -> dict[str, list[tuple[Any, ...]]]:
    with svc.ctx.store.read() as s:
        return {m.__tablename__: sorted(tuple(r) for r in s.execute(select(*m.__table__.columns)))
                for m in (DisputeFigures, HandoffFigures, FollowUp)}


# ---------------------------------------------------------------- KPI correctness
def test_an_extension_while_the_clock_is_stopped_keeps_it_stopped_in_the_figures(svc, clock):
    """overdue_rate never counts a handoff while its clock is stopped (中止计时): an extension granted
    during a suspension moves the deadline and leaves the clock stopped, in the service and in the fold."""
    d = register(svc)
    h = lead_of(d)
    _event(svc, h, "acknowledged")
    _event(svc, h, "progress", suspension={"action": "start", "reason": "等待鉴定"})
    _event(svc, h, "progress", extension={"period": "10c", "reason": "双方同意延期"})
    view = svc.get_dispute(d["id"])
    lead = lead_of(view)
    assert lead["state"] == "in_progress"
    move_past(clock, lead["handle_due"])
    clock.advance(days=1)                       # still suspended: the clock never restarted
    today = clock().date()
    k = _kpis(svc, Filter(date(2026, 11, 1), today))
    assert k["overdue_rate"]["numerator"] == 0, "a handoff whose clock is stopped is counted overdue"


def test_the_division_reports_total_is_the_centres_area_only(svc, clock):
    """/reports/divisions without a division is the centre's area: its total counts nothing of the
    neighbouring district, and is the sum of its rows."""
    c = county(svc)
    register(svc, c["v"])
    register(svc, c["v_other_county"])
    today = clock().astimezone(svc.ctx.config.calendar.tz).date()
    r = svc.division_report({"from_": today, "to": today, "level": "town"})
    assert r["total"]["division"] == svc.ctx.config.divisions.centre.code
    assert sum(d["received"] for d in r["divisions"]) == 1
    assert r["total"]["received"] == 1, "the centre's total counts a dispute of another district"


# ---------------------------------------------------------------- drift: kept rows vs rebuild
def test_a_rebuild_after_an_agencys_tier_changes_keeps_the_tier_of_the_time(svc, clock):
    """The events that place an agency carry its tier then: after agencies.yaml changes a tier, a rebuild
    gives the kept figures, so local_resolution_rate does not change for past periods."""
    d = register(svc)
    code = lead_of(d)["agency"]
    with svc.ctx.store.unit_of_work() as uow:
        original = uow.session.scalar(select(Agency.tier).where(Agency.code == code))
        uow.session.execute(update(Agency).where(Agency.code == code).values(
            tier="district" if original != "district" else "town"))
    svc.ctx.invalidate_registry()
    try:
        kept = _snapshot(svc)
        figures.rebuild(svc.ctx)
        assert _snapshot(svc) == kept, "a rebuild after a tier change gives other figures than the kept ones"
    finally:  # agencies are seeded once per session
        with svc.ctx.store.unit_of_work() as uow:
            uow.session.execute(update(Agency).where(Agency.code == code).values(tier=original))
        svc.ctx.invalidate_registry()


def test_events_committed_while_a_rebuild_runs_are_all_in_the_figures(svc, clock):
    """`reports rebuild` on a running service: agencies report while it folds batch after batch. Each
    batch locks its disputes, so every event is either folded by it or applied to the rows it wrote."""
    disputes = [register(svc) for _ in range(6)]
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            figures.rebuild(svc.ctx, batch=1, progress=lambda _n: time.sleep(0.02))
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    t = threading.Thread(target=rebuild)
    t.start()
    for i, d in enumerate(disputes):  # half acknowledged, half returned (re-routed: a new handoff's row)
        if i % 2:
            _event(svc, lead_of(d), "returned", reason="不属本辖区", basis="人民调解法第17条")
        else:
            _event(svc, lead_of(d), "acknowledged")
    t.join(60)
    assert not errors and not t.is_alive()
    kept = _snapshot(svc)
    with svc.ctx.store.read() as s:
        acked = s.scalar(select(func.count()).select_from(HandoffFigures)
                         .where(HandoffFigures.acknowledged_at.is_not(None)))
        returned = s.scalar(select(func.count()).select_from(HandoffFigures)
                            .where(HandoffFigures.end_state == "returned"))
    assert (acked, returned) == (3, 3)
    figures.rebuild(svc.ctx)
    assert _snapshot(svc) == kept


def test_an_agencys_return_during_a_rebuild_is_taken(svc, clock):
    """A rebuild never leaves a dispute without its figures row, so an agency's return (a re-route: a new
    handoff's row copies the dispute's dims) between two batches is taken."""
    a, b = register(svc), register(svc)
    first = min(a["id"], b["id"])
    later = b if first == a["id"] else a
    errors: list[BaseException] = []
    tried: list[int] = []

    def between_batches(_n: int) -> None:
        if tried:
            return
        tried.append(1)
        try:
            _event(svc, lead_of(later), "returned", reason="不属本辖区", basis="人民调解法第17条")
        except Exception as e:  # noqa: BLE001 - what the agency would get back as a 500
            errors.append(e)

    figures.rebuild(svc.ctx, batch=1, progress=between_batches)
    assert not errors, f"an agency's return during a rebuild failed: {errors[0]!r}"


def test_a_new_agreement_after_a_relapse_is_not_fulfilled_by_the_old_fulfilment(svc, clock):
    """fulfilment_rate: of those resolved in the period, the ones whose fulfilment is recorded. A new
    agreement after a relapse (回访发现复发) is not performed yet, whatever the first one was."""
    d = register(svc)
    h = lead_of(d)
    _event(svc, h, "acknowledged")
    clock.now = at(2026, 11, 24)
    _event(svc, h, "outcome", outcome=agreement("1000.00", fulfil_by="2026-11-30"))
    clock.now = at(2026, 11, 25)
    _event(svc, h, "closed", fulfilment={"fulfilled_on": "2026-11-25"})
    clock.now = at(2026, 11, 26)
    svc.act(d["id"], {"action": "record_follow_up", "reason": "回访", "satisfaction": "dissatisfied",
                      "relapse": True}, SUP)
    svc.act(d["id"], {"action": "designate", "reason": "重新办理", "agency": h["agency"]}, SUP)
    h2 = lead_of(svc.get_dispute(d["id"]))
    clock.now = at(2026, 12, 2)
    _event(svc, h2, "acknowledged")
    clock.now = at(2026, 12, 3)
    _event(svc, h2, "outcome", outcome=agreement("2000.00", fulfil_by="2026-12-31"))
    assert svc.get_dispute(d["id"])["state"] == "fulfilling"  # the new agreement is not performed yet
    k = _kpis(svc, Filter(date(2026, 12, 1), date(2026, 12, 31)))
    assert (k["fulfilment_rate"]["numerator"], k["fulfilment_rate"]["denominator"]) == (0, 1), \
        "December's new agreement counts as fulfilled by November's fulfilment"
