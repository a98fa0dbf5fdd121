"""An agency that keeps failing is never silently dropped (docs/reports.md §5): after its deliveries
have failed for `agency_down_minutes` with none reaching it, supervisors see a 机构异常 signal; the
circuit defers its backlog without spending the attempts; the first success after the outage makes
the whole backlog due at once, sent in the order it was made, and the signal clears."""

from __future__ import annotations

from router.messaging.circuit import CircuitBreakers
from router.messaging.worker import DeliveryWorker
from router.store.models import Event
from tests.builders import delivery_states, drain, lead_of, register


def test_an_hours_outage_flags_the_agency_keeps_the_backlog_and_drains_it_in_order(svc, clock, stub):
    worker = DeliveryWorker(svc, breakers=CircuitBreakers(cooldown=30.0, clock=lambda: clock().timestamp()))
    stub.behave(status=503)
    ds = []
    for _ in range(12):  # a dispute every five minutes of the hour, each tried as it comes
        ds.append(register(svc))
        drain(svc, worker)
        clock.advance(minutes=5)
    agency = lead_of(ds[0])["agency"]
    assert {lead_of(d)["agency"] for d in ds} == {agency}
    assert delivery_states(svc, agency) == {"pending": 12}  # none given up on
    svc.refresh_warnings()
    down = [s for s in svc.warnings_report()["signals"] if s["kind"] == "agency_down"]
    assert [s["agency"] for s in down] == [agency] and down[0]["kind_name"] == "机构异常"
    assert "积压12件" in down[0]["why"]
    assert all(svc.get_dispute(d["id"])["handoffs"][0]["state"] == "offered" for d in ds)

    stub.behave(status=200)  # back
    batches = []
    for _ in range(15):
        clock.advance(minutes=1)
        seen = len(stub.deliveries(agency))
        drain(svc, worker)
        batches.append([r.headers["Idempotency-Key"] for r in stub.deliveries(agency)][seen:])
        if delivery_states(svc, agency) == {"succeeded": 12}:
            break
    assert delivery_states(svc, agency) == {"succeeded": 12}
    got = [k for b in batches for k in b]
    order = [lead_of(d)["id"] for d in ds]
    assert sorted(got) == sorted(order) and len(got) == 12  # each once
    # The first is the circuit's trial (whichever was due); the backlog follows in the order it was made.
    assert [order.index(k) for k in got][1:] == sorted(order.index(k) for k in got[1:])
    with svc.ctx.store.read() as s:
        recovered = s.query(Event).filter(Event.type == "agency.recovered").all()
    assert [(e.data["agency"], e.data["backlog"]) for e in recovered] == [(agency, 11)]
    assert svc.refresh_warnings()["cleared"] >= 1
    assert not [s for s in svc.warnings_report()["signals"] if s["kind"] == "agency_down"]


def test_a_short_outage_is_not_flagged(svc, clock, stub):
    worker = DeliveryWorker(svc, breakers=CircuitBreakers(cooldown=30.0, clock=lambda: clock().timestamp()))
    stub.behave(status=503)
    register(svc)
    drain(svc, worker)
    clock.advance(minutes=10)
    svc.refresh_warnings()
    assert not [s for s in svc.warnings_report()["signals"] if s["kind"] == "agency_down"]
