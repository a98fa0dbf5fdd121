"""Builders shared by the test modules: intake bodies, registered disputes, views, events, waits, dates.

Test modules import helpers from here, never from one another; fixtures live in tests/conftest.py.
"""

from __future__ import annotations

import base64
import itertools
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select

from router.domain import ids
from router.domain.calendar import Period, WorkCalendar
from router.schemas.intake import DisputeIn, intake_command
from router.services import Actor
from router.store.models import Delivery, Event, Handoff

# ---------------------------------------------------------------- the suite's surroundings
ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
PII_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
AMQP = os.environ.get("ROUTER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Beijing: where the clock fixture starts


def config_dir() -> str:
    """The config directory the suite runs on: ROUTER_TEST_CONFIG_DIR, else the shipped config/."""
    return os.environ.get("ROUTER_TEST_CONFIG_DIR", str(ROOT / "config"))


# ---------------------------------------------------------------- intake
VALID_ID = "110101199003074514"
CLERK = Actor("user", "test-clerk", "clerk")
SUPERVISOR = Actor("user", "test-supervisor", "supervisor")


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


# A start drawn once per run, so runs sharing a PostgreSQL database do not meet each other's applicants.
_PEOPLE = itertools.count(random.SystemRandom().randrange(10**7))


def unique_person() -> tuple[str, str]:
    """A valid ID number and a mobile number no other call in this run returns: each dispute a test
    registers has its own applicant, so it is not held as a likely repeat (并单) of another test's."""
    n = next(_PEOPLE) % (20000 * 1000)
    born = date(1950, 1, 1) + timedelta(days=n // 1000)
    body17 = f"110101{born:%Y%m%d}{n % 1000:03d}"
    return body17 + ids.id_number_check_char(body17), f"13{n:09d}"


def body(division: str, category: str = "NEIGHBOUR", **kw: Any) -> dict[str, Any]:
    """A valid intake body (a person against a company, both in `division`); `kw` overrides its fields.
    The applicant's ID number and phone are new on every call (`unique_person`)."""
    id_number, phone = unique_person()
    b = {"source": "walk_in", "source_ref": None, "category": category, "summary": "测试纠纷",
         "amount": "12000.00", "people_involved": 1, "division": division, "occurred_on": "2026-10-01",
         "risk_flags": [], "wish": "mediation",
         "parties": [{"role": "applicant", "kind": "person", "name": "张三", "id_number": id_number,
                      "phone": phone, "division": division},
                     {"role": "respondent", "kind": "organization", "name": "某建筑公司", "division": division}]}
    b.update(kw)
    return b


def command(b: dict[str, Any]) -> Any:
    """The service-layer command for an intake body, loaded and converted as the API does it."""
    return intake_command(DisputeIn().load(b))


def register(svc, division: str | None = None, **kw: Any) -> dict[str, Any]:
    """Register a dispute through the service layer (no HTTP) as a clerk; returns its view."""
    return svc.register_dispute(command(body(division or county(svc)["v"], **kw)), CLERK)[1]


# ---------------------------------------------------------------- over HTTP
def post_dispute(live, svc, **kw: Any) -> dict[str, Any]:
    """Register a dispute in the county's village over HTTP, insist on 201 and return its view."""
    r = live.post("/api/v1/disputes", body(county(svc)["v"], **kw))
    assert r.status_code == 201, r.text
    return r.json()


def view_of(live, d: dict[str, Any]) -> dict[str, Any]:
    """The dispute's current view, fetched again over HTTP as a supervisor sees it."""
    return live.get(f"/api/v1/disputes/{d['id']}").json()


def lead_of(view: dict[str, Any]) -> dict[str, Any]:
    """The current lead handoff of a dispute view (the last placement)."""
    return [h for h in view["handoffs"] if h["role"] == "lead"][-1]


def act(live, dispute_id: str, **payload: Any) -> Any:
    """A supervisor's action on a dispute over HTTP; returns the response."""
    return live.post(f"/api/v1/disputes/{dispute_id}/actions", payload, role="supervisor")


# ---------------------------------------------------------------- the store
class Ev(NamedTuple):
    """One audit event as the tests read it: its type, who did it, and its data."""

    type: str
    actor: str
    data: dict[str, Any]


def events_of(svc, dispute_id: str, type_: str | None = None, *, data_only: bool = False) -> list[Any]:
    """The dispute's events in stream order, all or those of one type; `data_only` gives just their data."""
    with svc.ctx.store.read() as s:
        q = select(Event).where(Event.dispute_id == dispute_id)
        if type_ is not None:
            q = q.where(Event.type == type_)
        rows = [Ev(e.type, e.actor, e.data) for e in s.scalars(q.order_by(Event.stream_seq))]
    return [e.data for e in rows] if data_only else rows


def report(svc, h: dict[str, Any], type_: str, **fields: Any) -> dict[str, Any]:
    """The agency holding handoff `h` reports on it (through the service, as its signed call would)."""
    return svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": type_, **fields})


def agreed(svc, clock, confirm: bool = False, days: int = 10, **kw: Any) -> dict[str, Any]:
    """A registered dispute whose lead acknowledged and reached an agreement to be performed within
    `days` (judicially confirmed by a court with `confirm`); the view, in fulfilment."""
    d = register(svc, **kw)
    lead = lead_of(d)
    report(svc, lead, "acknowledged")
    fulfil_by = (clock.now + timedelta(days=days)).astimezone(svc.ctx.config.calendar.tz).date().isoformat()
    report(svc, lead, "outcome", outcome={"result": "agreement", "agreement": {
        "terms": "赔偿2000元", "amount": "2000.00", "fulfil_by": fulfil_by, "judicial_confirmation": confirm}})
    view = svc.get_dispute(d["id"])
    if confirm:
        court = next(h for h in view["handoffs"] if h["role"] == "confirm")
        report(svc, court, "acknowledged")
        report(svc, court, "outcome", outcome={"result": "agreement"})
        view = svc.get_dispute(d["id"])
    assert view["state"] == "fulfilling"
    return view


def at_once(n: int, call: Callable[[], Any], timeout: float = 60) -> tuple[list[Any], list[BaseException]]:
    """`call` in `n` threads released together: (their results, the exceptions raised)."""
    start, results, errors = threading.Barrier(n, timeout=10), [], []

    def one() -> None:
        try:
            start.wait()
            results.append(call())
        except BaseException as e:  # noqa: BLE001 - the caller asserts on them
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results, errors


def drain(svc, worker, after: Callable[[], None] | None = None) -> int:
    """One sweep by hand: every due delivery handled by `worker` (`after` each); how many there were."""
    n = 0
    for delivery_id, _ in svc.deliveries_due():
        worker.handle(delivery_id)
        n += 1
        if after is not None:
            after()
    return n


def delivery_states(svc, agency: str) -> dict[str, int]:
    """How many of the agency's deliveries are in each state."""
    with svc.ctx.store.read() as s:
        rows = s.scalars(select(Delivery.state).where(Delivery.agency_code == agency)).all()
    out: dict[str, int] = {}
    for state in rows:
        out[state] = out.get(state, 0) + 1
    return out


def handoff_state(svc, handoff_id: str) -> str:
    """A handoff's state as the database holds it now."""
    with svc.ctx.store.read() as s:
        return s.get(Handoff, handoff_id).state


def wait_for(pred: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `pred` until it returns something truthy and return that; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"{what} not met in time")


def move_past(clock, iso: str) -> None:
    """Set the test clock one second past an ISO instant (a deadline of a view)."""
    clock.now = datetime.fromisoformat(iso) + timedelta(seconds=1)


# ---------------------------------------------------------------- calendar arithmetic
BJ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """A Beijing wall-clock instant (10:00 unless told)."""
    return datetime(y, m, d, hh, mm, tzinfo=BJ)


def end_of(y: int, m: int, d: int) -> datetime:
    """The last second of a Beijing day, where day periods end."""
    return datetime(y, m, d, 23, 59, 59, tzinfo=BJ)


def dl(start: datetime, text: str, cal: WorkCalendar = CAL) -> datetime:
    """The deadline of period `text` (e.g. "3w") from `start` on `cal`."""
    return cal.deadline(start, Period.parse(text))


def designated(svc, offline, n: int) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """A new pull agency and n disputes designated to it: (its code, [(dispute id, its handoff)])."""
    first = register(svc)
    code = offline("pull", first)
    out = []
    for d in [first] + [register(svc) for _ in range(n - 1)]:
        svc.act(d["id"], {"action": "designate", "agency": code, "reason": "指定"}, SUPERVISOR)
        out.append((d["id"], lead_of(svc.get_dispute(d["id"]))))
    return code, out
