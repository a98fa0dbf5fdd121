"""Supervising bodies over real HTTP: the 司法所 reads the 督办 copy in its own signed feed."""

from __future__ import annotations

from datetime import datetime, timedelta

from router.store.models import Agency
from tests.builders import body, county, lead_of


def test_the_justice_office_finds_the_supervision_notice_in_its_feed(live, svc, agencies, clock):
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = lead_of(d)
    assert agencies(lead["agency"]).event(lead["id"], "acknowledged").status_code == 200
    due = lead_of(live.get(f"/api/v1/disputes/{d['id']}").json())["handle_due"]
    clock.now = datetime.fromisoformat(due) + timedelta(days=10)
    svc.run_due_timers()
    with svc.ctx.store.read() as s:
        boss = s.get(Agency, lead["agency"]).supervised_by
    r = agencies(boss).feed()
    assert r.status_code == 200, r.text
    (item,) = [i for i in r.json()["items"] if i["kind"] == "handoff.supervised"]
    assert item["payload"]["supervised_agency"] == lead["agency"] and item["payload"]["reference"] == d["reference"]
    assert agencies(boss).handoff(lead["id"]).status_code == 404  # told of it, not handed it
