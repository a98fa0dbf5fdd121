"""Soak with faults (issue 14 item 12): steady load on PostgreSQL + RabbitMQ with every process
separate, while a delivery worker, the relay, the scheduler and an API process are killed (SIGKILL)
and RabbitMQ and PostgreSQL are restarted under it. Then: was anything lost or applied twice?

    python bench/soak.py                        # 10 minutes: 100 intakes + 200 callbacks + 50 reads a second
    python bench/soak.py --minutes 2 --intakes 10 --callbacks 20 --reads 5 --check     # CI's version

The service runs as in production (README "Production"): gunicorn web processes, `relay`,
`scheduler` and `worker` processes, each restarted a second after it dies (bench/faults.py); a stub
agency on loopback takes every push delivery. Clients behave as the intake window and the agency
client do: every registration carries an Idempotency-Key and every callback a webhook-id and
event_id, and a failed call (a dropped connection, a 5xx, a 503 with Retry-After) is sent again
unchanged until it is answered. At the end, after the backlog drains:

- every acknowledged (201) registration is stored, and no key made two disputes;
- every push handoff reached its agency; every open handoff has its deadline timer;
- no agency event was applied twice (one event per event_id), every acknowledged callback applied;
- every hash chain verifies from its first event.

Recovery after a fault: the time from the fault until every registration started after it was
accepted at the first try and delivered to its agency within 5 s. With --check the run exits 1 when
anything was lost, duplicated or broken (the recovery times are reported, not asserted).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import queue
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from bench.faults import Faults, Supervised, gunicorn_process, router_process  # noqa: E402
from bench.fresh import free_port, fresh  # noqa: E402
from router.adapters import signing  # noqa: E402
from router.store.models import Agency, Dispute, Event, Handoff, Timer  # noqa: E402
from router.testing.stub_agency import StubAgency  # noqa: E402

RETRYABLE = {429, 500, 502, 503, 504}
OPEN_HANDOFF = ("offered", "delivered", "acknowledged", "in_progress")


@dataclass
class Intake:
    key: str
    first_sent: float
    first_ok: bool = False
    status: int | None = None
    dispute: str | None = None
    committed: float | None = None
    handoffs: list[tuple[str, str]] = field(default_factory=list)  # (id, agency)


class Tally:
    """What the clients saw: answers by stream and status, and what each registration became."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: collections.Counter[tuple[str, str]] = collections.Counter()
        self.seconds: dict[str, list[float]] = collections.defaultdict(list)  # each final answer's wait
        self.intakes: dict[str, Intake] = {}
        self.callbacks_ok: dict[str, str] = {}  # event_id -> handoff id, for the callbacks answered 2xx
        self.to_ack: queue.Queue[str] = queue.Queue()
        self.acked: list[str] = []

    def saw(self, stream: str, status: int | str) -> None:
        with self.lock:
            self.answers[stream, str(status)] += 1


def until_answered(send: Any, stream: str, tally: Tally, give_up: float) -> tuple[requests.Response | None, bool]:
    """Send again, unchanged, until a final answer or `give_up`: (the answer, was it the first try)."""
    first, began = True, time.time()
    while time.time() < give_up:
        try:
            r = send()
        except requests.RequestException as e:
            tally.saw(stream, type(e).__name__)
        else:
            tally.saw(stream, r.status_code)
            if r.status_code not in RETRYABLE:
                with tally.lock:
                    tally.seconds[stream].append(time.time() - began)
                return r, first
            with contextlib.suppress(ValueError):
                time.sleep(min(5.0, float(r.headers.get("Retry-After", "0.5"))))
        first = False
        time.sleep(0.3)
    return None, False


class Load:
    def __init__(self, url: str, svc: Any, tally: Tally, villages: list[str], give_up: list[float]) -> None:
        self.url, self.svc, self.tally, self.villages, self.give_up = url, svc, tally, villages, give_up
        self.clerk = svc.add_user("soak-clerk", "clerk")
        self.supervisor = svc.add_user("soak-supervisor", "supervisor")
        self.keys: dict[str, tuple[str, str]] = {}
        self.agency_of: dict[str, str] = {}  # handoff -> agency, learnt from the registrations' answers
        self.local = threading.local()

    def http(self) -> requests.Session:
        if not hasattr(self.local, "s"):
            self.local.s = requests.Session()
        return self.local.s

    def intake(self, i: int) -> None:
        key = str(uuid.uuid4())
        rec = Intake(key, time.time())
        with self.tally.lock:
            self.tally.intakes[key] = rec
        body = {"source": "walk_in", "category": "NEIGHBOUR", "summary": f"耐久测试{i}", "amount": "1000.00",
                "division": self.villages[i % len(self.villages)],
                "parties": [{"role": "applicant", "name": f"申请人{i}"}, {"role": "respondent", "name": "某公司"}]}
        headers = {"Authorization": f"Bearer {self.clerk}", "Idempotency-Key": key}
        r, first = until_answered(lambda: self.http().post(f"{self.url}/api/v1/disputes", json=body, headers=headers,
                                                           timeout=15), "intake", self.tally, self.give_up[0])
        if r is not None:
            rec.status, rec.first_ok = r.status_code, first and r.status_code == 201
            if r.status_code in (200, 201):
                view = r.json()
                rec.dispute = view["id"]
                rec.committed = datetime.fromisoformat(view["created_at"]).timestamp()
                rec.handoffs = [(h["id"], h["agency"]) for h in view["handoffs"]]

    def callback(self, _: int) -> None:
        t = self.tally
        try:
            handoff, kind = t.to_ack.get_nowait(), "acknowledged"
        except queue.Empty:
            with t.lock:
                if not t.acked:
                    return
                handoff, kind = random.choice(t.acked), "progress"
        agency = self.agency_of.get(handoff)
        if agency is None:
            return
        key_id, secret = self.keys[agency]
        event = {"handoff_id": handoff, "event_id": str(uuid.uuid4()), "type": kind, "note": "已联系双方"}
        raw, msg = json.dumps(event, ensure_ascii=False).encode(), f"msg_{uuid.uuid4().hex}"
        path = f"/api/v1/agency/handoffs/{handoff}/events"

        def send() -> requests.Response:  # the same webhook-id and body each time, signed afresh
            headers = {"X-Router-Key": key_id, "Content-Type": "application/json",
                       **signing.headers([secret], msg, int(time.time()), signing.signed_payload("POST", path, raw))}
            return self.http().post(self.url + path, data=raw, headers=headers, timeout=15)

        r, _ = until_answered(send, "callback", t, self.give_up[0])
        if r is not None and r.status_code < 300:
            with t.lock:
                t.callbacks_ok[event["event_id"]] = handoff
                if kind == "acknowledged":
                    t.acked.append(handoff)

    def read(self, i: int) -> None:
        with self.tally.lock:
            known = [x.dispute for x in list(self.tally.intakes.values())[-200:] if x.dispute]
        path = ("/api/v1/disputes?per_page=20" if i % 10 == 0 or not known
                else f"/api/v1/disputes/{random.choice(known)}")
        until_answered(lambda: self.http().get(self.url + path, headers={"Authorization": f"Bearer {self.supervisor}"},
                                               timeout=15), "read", self.tally, self.give_up[0])



def paced(rate: float, seconds: float, call: Any, pool: ThreadPoolExecutor, stop: threading.Event) -> None:
    start, i = time.time(), 0
    while not stop.is_set() and time.time() - start < seconds:
        delay = start + i / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        pool.submit(call, i)
        i += 1


def recovery(fault_at: float, until: float, intakes: list[Intake], receipts: dict[str, float],
             push: set[str]) -> float | None:
    """Seconds from the fault until every registration started after it went through at once and
    reached its agency within 5 s; None: not before the next fault. Registrations of the last 5 s
    before the next fault are left out: their deliveries meet that fault, not this one."""
    window = sorted((x for x in intakes if fault_at <= x.first_sent < until - 5), key=lambda x: x.first_sent)

    def whole(x: Intake) -> bool:
        return x.first_ok and x.committed is not None and all(
            receipts.get(h, float("inf")) - x.committed < 5 for h, a in x.handoffs if a in push)
    k = len(window)
    while k > 0 and whole(window[k - 1]):
        k -= 1
    if k == 0:
        return 0.0
    return None if k == len(window) else window[k].first_sent - fault_at


def audit(svc: Any, tally: Tally, stub: StubAgency, push: set[str]) -> dict[str, int]:
    receipts = set(stub.keys())
    answered = {x.dispute for x in tally.intakes.values() if x.dispute}
    with svc.ctx.store.read() as s:
        stored = set(s.scalars(select(Dispute.id).where(Dispute.created_by == "user:soak-clerk")))
        # Each registration has a summary of its own: two disputes with one are one request made twice.
        twice = s.scalar(select(func.count()).select_from(
            select(Dispute.summary).where(Dispute.created_by == "user:soak-clerk").group_by(Dispute.summary)
            .having(func.count() > 1).subquery())) or 0
        handoffs = s.execute(select(Handoff.id, Handoff.agency_code, Handoff.state)
                             .where(Handoff.dispute_id.in_(stored))).all() if stored else []
        timed = set(s.scalars(select(Timer.handoff_id).where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))))
        events = s.execute(select(Event.data).where(Event.actor.like("agency:%"))).scalars().all()
    by_event = collections.Counter(e.get("event_id") for e in events if isinstance(e, dict) and e.get("event_id"))
    return {
        "registrations acknowledged (201)": len(answered),
        "acknowledged but not stored": len(answered - stored),
        "disputes stored": len(stored),
        "registrations stored twice": twice,
        "push handoffs not received by their agency": sum(1 for h, a, _ in handoffs if a in push and h not in receipts),
        "open handoffs without a deadline timer": sum(1 for h, _, st in handoffs
                                                      if st in OPEN_HANDOFF and h not in timed),
        "callbacks acknowledged (2xx)": len(tally.callbacks_ok),
        "acknowledged callbacks not applied": sum(1 for e in tally.callbacks_ok if by_event[e] == 0),
        "agency events applied twice": sum(1 for n in by_event.values() if n > 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--intakes", type=float, default=100.0, help="registrations per second")
    p.add_argument("--callbacks", type=float, default=200.0, help="agency callbacks per second")
    p.add_argument("--reads", type=float, default=50.0, help="staff reads per second")
    p.add_argument("--web", type=int, default=2, help="gunicorn web processes")
    p.add_argument("--workers", type=int, default=2, help="delivery worker processes")
    p.add_argument("--drain", type=float, default=180.0, help="seconds to let the backlog drain at the end")
    p.add_argument("--check", action="store_true", help="exit 1 when anything was lost, duplicated or broken")
    p.add_argument("--faults", default="", help="only the faults whose name has one of these comma-separated words "
                                                 "(worker, relay, scheduler, API, RabbitMQ, PostgreSQL)")
    p.add_argument("--dump", help="write every registration's times (JSON lines) here, to study a recovery")
    args = p.parse_args()
    seconds = args.minutes * 60

    admin = create_engine("postgresql://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT",
                          pool_pre_ping=True)  # it outlives the PostgreSQL restart
    db = f"soak_{os.getpid()}_{int(time.time())}"
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {db}"))
    prefix = f"soak-{os.getpid()}"
    env, settings, engine, svc = fresh("soak", f"postgresql://postgres@127.0.0.1:5432/{db}",
                                       ROUTER_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//",
                                       ROUTER_BROKER_PREFIX=prefix, ROUTER_LOG_LEVEL="ERROR")
    stub = StubAgency()
    stub.serve_all_agencies(svc)
    with svc.ctx.store.read() as s:
        push = set(s.scalars(select(Agency.code).where(Agency.delivery == "push", Agency.active.is_(True))))
    tally = Tally()
    stub.on_received = lambda r: tally.to_ack.put(r.headers.get("Idempotency-Key", ""))
    port = free_port()
    procs: dict[str, Supervised] = {"api": gunicorn_process(env, port, args.web),
                                    "relay": router_process("relay", env, "relay"),
                                    "scheduler": router_process("scheduler", env, "scheduler")}
    for n in range(args.workers):
        procs[f"worker-{n + 1}"] = router_process(f"worker-{n + 1}", env, "worker", "--threads", "4")
    for proc in procs.values():
        proc.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        time.sleep(0.2)
    villages = sorted(d.code for d in settings.domain.divisions.by_code.values() if d.level == "village")
    give_up = [float("inf")]
    load = Load(url, svc, tally, villages, give_up)
    load.keys = {code: svc.rotate_agency_key(code) for code in push}
    stub.learn_secrets(svc)
    stop, faults = threading.Event(), Faults(procs, {w for w in args.faults.split(",") if w})
    start = time.time()
    pools = {name: ThreadPoolExecutor(n) for name, n in (("intake", 48), ("callback", 48), ("read", 16))}
    streams = [threading.Thread(target=paced, args=(args.intakes, seconds, load.intake, pools["intake"], stop)),
               threading.Thread(target=paced, args=(args.callbacks, seconds, load.callback, pools["callback"], stop)),
               threading.Thread(target=paced, args=(args.reads, seconds, load.read, pools["read"], stop)),
               threading.Thread(target=faults.run, args=(start, seconds, stop))]
    refresh = threading.Thread(target=_learn_agencies, args=(load, tally, stop), daemon=True)
    refresh.start()
    for t in streams:
        t.start()
    for t in streams[:3]:
        t.join()
    give_up[0] = time.time() + 90  # unanswered calls keep trying for a while, as a real client would
    for pool in pools.values():
        pool.shutdown(wait=True)
    loaded = time.time() - start
    drained = _drain(svc, stub, tally, push, args.drain)
    stop.set()
    streams[3].join()
    try:
        found = audit(svc, tally, stub, push)
        chain = svc.verify_chain(full=True)
        report(args, tally, faults, procs, found, chain, push, stub, loaded, drained)
        if args.dump:
            _dump(args.dump, tally, stub, push, faults)
    finally:
        for proc in procs.values():
            proc.stop()
        stub.stop()
        engine.dispose()
        svc.ctx.store.engine.dispose()
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        _delete_topology(settings, prefix)
    bad = sum(v for k, v in found.items() if k not in (
        "registrations acknowledged (201)", "disputes stored", "callbacks acknowledged (2xx)")) + (not chain["ok"])
    return 1 if args.check and bad else 0


def _dump(path: str, tally: Tally, stub: StubAgency, push: set[str], faults: Faults) -> None:
    receipts: dict[str, float] = {}
    for r in stub.deliveries():
        receipts.setdefault(r.headers.get("Idempotency-Key", ""), r.at)
    with open(path, "w", encoding="utf-8") as f:
        for name, began, took in faults.done:
            f.write(json.dumps({"fault": name, "at": began, "took": took}) + "\n")
        for x in tally.intakes.values():
            lags = [receipts[h] - x.committed for h, a in x.handoffs if a in push and h in receipts and x.committed]
            f.write(json.dumps({"sent": x.first_sent, "first_ok": x.first_ok, "status": x.status,
                                "committed": x.committed, "lag": max(lags, default=None)}) + "\n")


def _learn_agencies(load: Load, tally: Tally, stop: threading.Event) -> None:
    while not stop.wait(0.2):
        with tally.lock:
            for x in tally.intakes.values():
                for h, a in x.handoffs:
                    load.agency_of.setdefault(h, a)


def _drain(svc: Any, stub: StubAgency, tally: Tally, push: set[str], seconds: float) -> float:
    """Until every push handoff of an answered registration reached its agency (or `seconds`)."""
    t0 = time.time()
    while time.time() - t0 < seconds:
        want = {h for x in tally.intakes.values() for h, a in x.handoffs if a in push}
        if want <= set(stub.keys()):
            break
        time.sleep(1)
    return time.time() - t0


def _delete_topology(settings: Any, prefix: str) -> None:
    from kombu import Connection

    from router.messaging.topology import Topology

    topo = Topology(prefix, amqp=True, delivery_limit=settings.delivery_limit)
    with contextlib.suppress(Exception), Connection(settings.broker_url, connect_timeout=5) as conn:
        ch = conn.channel()
        for q in [*topo.handoff_queues(), topo.dead]:
            q(ch).delete()
        for ex in (topo.handoffs, topo.events, topo.dlx):
            ex(ch).delete()


def report(args: Any, tally: Tally, faults: Faults, procs: dict[str, Supervised], found: dict[str, int],
           chain: dict[str, Any], push: set[str], stub: StubAgency, loaded: float, drained: float) -> None:
    print(f"\nsoak: {args.minutes:g} min on PostgreSQL + RabbitMQ, target {args.intakes:g} intakes + "
          f"{args.callbacks:g} callbacks + {args.reads:g} reads /s; gunicorn {args.web} + relay + scheduler + "
          f"{args.workers} workers; load {loaded:.0f} s, drain {drained:.0f} s\n")
    print("| stream | answers | per second | p50 / p99 s (retries included) | by status |\n|---|---|---|---|---|")
    for stream in ("intake", "callback", "read"):
        got = {s: n for (st, s), n in tally.answers.items() if st == stream}
        total = sum(got.values())
        by = ", ".join(f"{s}: {n}" for s, n in sorted(got.items()))
        waits = sorted(tally.seconds[stream]) or [0.0]
        p50, p99 = waits[len(waits) // 2], waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        print(f"| {stream} | {total} | {total / max(loaded, 1):.0f} | {p50:.2f} / {p99:.2f} | {by} |")
    receipts: dict[str, float] = {}
    for r in stub.deliveries():
        receipts.setdefault(r.headers.get("Idempotency-Key", ""), r.at)
    intakes = list(tally.intakes.values())
    print("\n| fault | at s | recovered after s |\n|---|---|---|")
    start = min((x.first_sent for x in intakes), default=0.0)
    times = [b for _, b, _ in faults.done] + [float("inf")]
    for i, (name, began, _) in enumerate(faults.done):
        rec = recovery(began, times[i + 1], intakes, receipts, push)
        print(f"| {name} | {began - start:.0f} | {'not before the next fault' if rec is None else f'{rec:.1f}'} |")
    print("\n| check | count |\n|---|---|")
    for k, v in found.items():
        print(f"| {k} | {v} |")
    print(f"| hash chains intact (full verification) | {'yes' if chain['ok'] else 'NO'} "
          f"({chain.get('events_checked', 0)} events) |")
    print(f"| process restarts | {', '.join(f'{n}: {p.restarts}' for n, p in procs.items())} |")


if __name__ == "__main__":
    raise SystemExit(main())
