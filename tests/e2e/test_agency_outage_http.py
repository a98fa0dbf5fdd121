"""机构异常 over real HTTP: an agency down for more than half an hour is in the warnings report and on
the workbench's 预警 tab; back, its backlog reaches it and the signal clears."""

from __future__ import annotations

from router.messaging.circuit import CircuitBreakers
from router.messaging.worker import DeliveryWorker
from tests.builders import body, county, drain, lead_of


def test_an_agency_down_is_reported_and_cleared_when_back(live, svc, clock, stub, supervisor):
    worker = DeliveryWorker(svc, breakers=CircuitBreakers(cooldown=30.0, clock=lambda: clock().timestamp()))
    stub.behave(status=503)
    ds = []
    for _ in range(8):
        ds.append(live.post("/api/v1/disputes", body(county(svc)["v"])).json())
        drain(svc, worker)
        clock.advance(minutes=5)
    agency = lead_of(ds[0])["agency"]
    svc.refresh_warnings()
    r = live.get("/api/v1/reports/warnings", params={"kind": "agency_down"})
    assert r.status_code == 200, r.text
    (signal,) = r.json()["signals"]
    assert signal["agency"] == agency and signal["kind_name"] == "机构异常" and "积压8件" in signal["why"]
    assert "机构异常" in supervisor.get("/supervise?queue=warnings").text
    stub.behave(status=200)
    for _ in range(15):
        clock.advance(minutes=1)
        drain(svc, worker)
    assert {r.headers["Idempotency-Key"] for r in stub.deliveries(agency)} == {lead_of(d)["id"] for d in ds}
    svc.refresh_warnings()
    assert live.get("/api/v1/reports/warnings", params={"kind": "agency_down"}).json()["signals"] == []
