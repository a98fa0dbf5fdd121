"""Delivery latency: from the intake transaction's commit to the agency's receipt, at fixed rates;
then the agencies' callbacks (signed, verified, applied) per second.

    python bench/delivery.py                                   # embedded: SQLite + in-process broker
    python bench/delivery.py --database postgresql://postgres@127.0.0.1/db --broker amqp://guest:guest@127.0.0.1//

Disputes are registered over HTTP, against the service under gunicorn (`--web` processes), at each
target rate (open loop) for `--seconds`; a stub agency on loopback records when each handoff
arrives. The latency runs from the registration's own timestamp (the start of its transaction, a
few ms before its commit) to the receipt. With --broker amqp the relay and workers run as separate
`dispute-router` processes, as in production; on the in-process broker they run in this process
(the database carries the outbox to them). Then every handoff received is acknowledged (签收) by its
agency over HTTP, signed, from `--callers` threads. Prints two tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fresh import fresh, gunicorn  # noqa: E402
from router.messaging.worker import Background  # noqa: E402
from router.services import Services  # noqa: E402
from router.testing.agency_client import AgencyClient  # noqa: E402
from router.testing.stub_agency import StubAgency  # noqa: E402


class TimedStub(StubAgency):
    """Receipt time per Idempotency-Key (the handoff id)."""

    def receipts(self) -> dict[str, float]:
        with self.lock:
            out: dict[str, float] = {}
            for r in self.received:
                key = r.headers.get("Idempotency-Key", "")
                out.setdefault(key, r.at)
            return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", default=None, help="default: a fresh SQLite file")
    p.add_argument("--broker", default="memory://")
    p.add_argument("--rates", default="20,100,200")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--workers", type=int, default=2, help="delivery workers (threads or processes)")
    p.add_argument("--producers", type=int, default=16, help="client threads registering disputes")
    p.add_argument("--callers", type=int, default=8, help="agency threads sending callbacks")
    p.add_argument("--web", type=int, default=2, help="gunicorn web processes")
    args = p.parse_args()

    env, settings, engine, svc = fresh("delivery", args.database, ROUTER_BROKER_URL=args.broker,
                                       ROUTER_LOG_LEVEL="WARNING")
    stub = TimedStub()
    stub.serve_all_agencies(svc)

    procs: list[subprocess.Popen] = []
    background = None
    if args.broker.startswith("amqp"):
        penv = {**os.environ, **env}
        cmd = [sys.executable, "-m", "router.cli"]
        procs.append(subprocess.Popen([*cmd, "relay"], cwd=ROOT, env=penv, stdout=subprocess.DEVNULL))
        procs += [subprocess.Popen([*cmd, "worker", "--threads", "4"], cwd=ROOT, env=penv, stdout=subprocess.DEVNULL)
                  for _ in range(args.workers)]
        time.sleep(3)
    else:
        background = Background(svc, workers=args.workers).start()

    villages = [d.code for d in settings.domain.divisions.by_code.values() if d.level == "village"]
    template = {"source": "walk_in", "category": "NEIGHBOUR", "summary": "基准", "amount": "1000.00",
                "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}]}
    token = svc.add_user("bench-clerk", "clerk")
    web, url = gunicorn("router.wsgi:app", env, args.web)
    local = threading.local()
    rows = []
    agency_of: dict[str, str] = {}
    callbacks: tuple[int, float, float, float, int] | None = None
    try:
        for rate in [int(r) for r in args.rates.split(",")]:
            committed: dict[str, float] = {}
            lock = threading.Lock()

            def one(i: int, committed: dict[str, float] = committed, lock: threading.Lock = lock) -> None:
                if not hasattr(local, "http"):
                    local.http = requests.Session()
                http = local.http
                r = http.post(f"{url}/api/v1/disputes", json={**template, "division": villages[i % len(villages)]},
                              headers={"Authorization": f"Bearer {token}"}, timeout=60)
                view = r.json()
                t = datetime.fromisoformat(view["created_at"]).timestamp()
                with lock:
                    for h in view["handoffs"]:
                        committed[h["id"]] = t
                        agency_of[h["id"]] = h["agency"]

            total = int(rate * args.seconds)
            start = time.perf_counter()
            with ThreadPoolExecutor(args.producers) as pool:
                for i in range(total):
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    pool.submit(one, i)
            achieved = total / (time.perf_counter() - start)  # the pool's exit waited for every commit
            deadline = time.time() + 120
            while time.time() < deadline and not set(committed) <= set(stub.receipts()):
                time.sleep(0.2)
            receipts = stub.receipts()
            lat = sorted((receipts[h] - t) * 1000 for h, t in committed.items() if h in receipts)
            lost = len(set(committed) - set(receipts))
            q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [0.0] * 99
            rows.append((rate, achieved, len(committed), q[49], q[98], lost))
        callbacks = acknowledge_all(svc, url, [h for h in agency_of if h in stub.receipts()], agency_of,
                                    args.callers)
    finally:
        web.terminate()
        web.wait(10)
        if background:
            background.close()
        for pr in procs:
            pr.terminate()
        stub.stop()
    setup = f"{'PostgreSQL' if not settings.is_sqlite else 'SQLite'} + {args.broker.split(':')[0]}"
    print("| setup | target/s | achieved/s | handoffs | p50 ms | p99 ms | not received |")
    print("|---|---|---|---|---|---|---|")
    for rate, achieved, n, p50, p99, lost in rows:
        print(f"| {setup} | {rate} | {achieved:.0f} | {n} | {p50:.0f} | {p99:.0f} | {lost} |")
    if callbacks:
        n, rps, p50, p99, errors = callbacks
        print(f"\nagency callbacks (acknowledged, signed, verified, applied) over HTTP, gunicorn {args.web} "
              f"processes, {args.callers} callers\n")
        print("| setup | callbacks | per second | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|")
        print(f"| {setup} | {n} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {errors} |")


def acknowledge_all(svc: Services, url: str, handoffs: list[str], agency_of: dict[str, str],
                    callers: int) -> tuple[int, float, float, float, int]:
    """签收 every handoff by its agency, signed, from `callers` threads: (count, per second, p50, p99, errors)."""
    keys = {code: svc.rotate_agency_key(code) for code in set(agency_of.values())}
    clients = threading.local()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def ack(h: str) -> None:
        code = agency_of[h]
        mine = getattr(clients, "by_code", None)
        if mine is None:
            mine = clients.by_code = {}
        client = mine.get(code) or mine.setdefault(code, AgencyClient(url, *keys[code]))
        t0 = time.perf_counter()
        r = client.event(h, "acknowledged")
        with lock:
            latencies.append((time.perf_counter() - t0) * 1000)
            errors[0] += r.status_code >= 300

    start = time.perf_counter()
    with ThreadPoolExecutor(callers) as pool:
        list(pool.map(ack, handoffs))
    wall = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return len(latencies), len(latencies) / wall, q[49], q[98], errors[0]


if __name__ == "__main__":
    main()
