"""An agency's one-hour outage: its backlog kept, flagged, then drained in order when it is back.

    python bench/outage.py                                         # SQLite file, 300 disputes in the hour
    python bench/outage.py --database postgresql://postgres@127.0.0.1/db --disputes 1000

One village's mediation committee gets every dispute. For a simulated hour (the service's clock
moves; the circuit breaker runs on the same clock) a stub agency on loopback answers 503 while
disputes arrive at an even rate and a delivery worker keeps trying. Then the agency answers 200
again and the worker drains the backlog; the drain is timed on the wall clock and compared with the
floor: the same number of deliveries to a healthy agency, each sent as it is made. Prints a table;
asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.fresh import Clock, fresh  # noqa: E402
from router.messaging.circuit import CircuitBreakers  # noqa: E402
from router.messaging.worker import DeliveryWorker  # noqa: E402
from router.schemas.intake import DisputeIn, intake_command  # noqa: E402
from router.services import Actor  # noqa: E402
from router.store.models import Delivery  # noqa: E402
from router.testing.stub_agency import StubAgency  # noqa: E402

CLERK = Actor("user", "bench-clerk", "clerk")


def _register(svc, village: str, i: int) -> str:
    body = {"source": "walk_in", "category": "NEIGHBOUR", "summary": f"纠纷{i}", "division": village,
            "parties": [{"role": "applicant", "name": f"申请人{i}", "phone": f"139{i:08d}"},
                        {"role": "respondent", "name": f"被申请人{i}"}]}
    return svc.register_dispute(intake_command(DisputeIn().load(body)), CLERK)[1]["handoffs"][0]["id"]


def _drain(svc, worker) -> int:
    due = svc.deliveries_due()
    for delivery_id, _ in due:
        worker.handle(delivery_id)
    return len(due)


def _pending(svc, agency: str) -> int:
    with svc.ctx.store.read() as s:
        return s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.agency_code == agency, Delivery.state == "pending")) or 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", default=None, help="default: a fresh SQLite file")
    p.add_argument("--disputes", type=int, default=300, help="arriving during the outage hour")
    args = p.parse_args()
    clock = Clock()
    _, settings, _, svc = fresh("outage", args.database, clock)
    stub = StubAgency()
    stub.serve_all_agencies(svc)
    worker = DeliveryWorker(svc, breakers=CircuitBreakers(cooldown=30.0, clock=lambda: clock().timestamp()))
    village = sorted(d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village")[0]
    n = args.disputes

    # The floor: the same number of deliveries to a healthy agency, each sent as it is made.
    floor_ids = [_register(svc, village, i) for i in range(n)]
    agency = svc.get_dispute(svc.lookup("申请人0")[0]["id"])["handoffs"][0]["agency"]
    t0 = time.perf_counter()
    while _drain(svc, worker):
        pass
    floor = time.perf_counter() - t0
    assert len(stub.deliveries(agency)) == len(floor_ids)
    stub.received.clear()

    # The outage: an hour of 503s, disputes arriving at an even rate, the worker trying every 10 s.
    stub.behave(status=503)
    step = timedelta(seconds=3600 / n)
    made = []
    for i in range(n):
        made.append(_register(svc, village, n + i))
        clock.now += step
        _drain(svc, worker)
    kept = _pending(svc, agency)
    svc.refresh_warnings()
    flagged = [s for s in svc.warnings_report()["signals"] if s["kind"] == "agency_down" and s["agency"] == agency]

    # Back: drain, the simulated clock moving a second per round.
    stub.behave(status=200)
    stub.received.clear()
    t0, rounds, back_at, first_at = time.perf_counter(), 0, clock.now, None
    while _pending(svc, agency) and rounds < 10_000:
        clock.now += timedelta(seconds=1)
        _drain(svc, worker)
        rounds += 1
        if first_at is None and stub.deliveries(agency):
            first_at = clock.now
    drain = time.perf_counter() - t0
    found_back = (first_at - back_at).total_seconds() if first_at else None
    all_out = (clock.now - back_at).total_seconds()
    got = [r.headers["Idempotency-Key"] for r in stub.deliveries(agency)]
    rank = {h: i for i, h in enumerate(made)}
    after_trial = [rank[h] for h in got[1:] if h in rank]
    inversions = sum(1 for a, b in zip(after_trial, after_trial[1:], strict=False) if b < a)
    print(f"\n{settings.database_url.split('://')[0]}, {n} disputes in the outage hour, one agency ({agency})\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| deliveries kept pending at the end of the hour | {kept} of {n} |")
    print(f"| 机构异常 signal raised | {'yes: ' + flagged[0]['why'] if flagged else 'no'} |")
    print(f"| delivered after the agency came back | {len(set(got) & set(made))} of {n} (each once: "
          f"{len(got) == len(set(got))}) |")
    print(f"| out of order after the circuit's trial | {inversions} |")
    print(f"| found back (the circuit's next trial), service clock | {found_back} s after it was back |")
    print(f"| all delivered, service clock | {all_out:.0f} s after it was back |")
    print(f"| drain, wall clock | {drain:.2f} s ({drain / n * 1000:.1f} ms a delivery, {rounds} rounds of 1 s) |")
    print(f"| floor: the same deliveries to a healthy agency | {floor:.2f} s ({floor / n * 1000:.1f} ms a delivery) |")
    print(f"| ratio drain / floor | {drain / floor:.2f} |")
    stub.stop()


if __name__ == "__main__":
    main()
