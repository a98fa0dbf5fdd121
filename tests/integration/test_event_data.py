"""The audit events' data, as supervisors read it on the timeline and subscribers of router.events
receive it: every transition says from and to, every instant is in UTC."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from tests.builders import events_of, lead_of, post_dispute

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def test_every_progress_report_records_the_transition(live, svc, agencies, clock):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    clock.advance(hours=1)
    assert a.event(lead["id"], "progress", note="第一次调解").status_code == 200
    clock.advance(hours=1)
    assert a.event(lead["id"], "progress", note="第二次调解").status_code == 200
    progress = events_of(svc, d["id"], "handoff.progress", data_only=True)
    assert len(progress) == 2
    assert [(p.get("from"), p.get("to")) for p in progress] == [("acknowledged", "in_progress"),
                                                                ("in_progress", "in_progress")]


def _offsets(value, path, out):
    if isinstance(value, dict):
        for k, v in value.items():
            _offsets(v, f"{path}.{k}", out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _offsets(v, f"{path}[{i}]", out)
    elif isinstance(value, str) and ISO.match(value) and datetime.fromisoformat(value).utcoffset() != timedelta(0):
        out.append(f"{path}={value}")


def test_the_timeline_gives_every_instant_in_utc(live, svc, agencies, clock):
    """docs/architecture.md §7: instants are given in UTC, in the event data too."""
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    clock.advance(hours=1)
    assert a.event(lead["id"], "progress", extension={"reason": "双方同意延期", "period": "5c"}).status_code == 200
    t = live.get(f"/api/v1/disputes/{d['id']}/timeline").json()
    not_utc: list[str] = []
    for e in t["events"]:
        _offsets(e["data"], e["type"], not_utc)
    assert not not_utc, not_utc
