"""Report, queue and timeline times on a seeded database (bench/seed.py), against the targets of
docs/reports.md §9 and against a floor measured in the same run.

    python bench/seed.py --database postgresql://postgres@127.0.0.1/bench     # once: 1,000,000 disputes
    python bench/reports.py --database postgresql://postgres@127.0.0.1/bench

Each line times one service call (what the API and the pages call) several times and prints the
median, p95 and p99 in ms; its floor is the cheapest query over the same rows (a bare count, or the
rows fetched without assembling them), so the ratio says what the report adds on top of reading.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.services import build_services, warnings  # noqa: E402
from router.services.queues import QueueFilter  # noqa: E402
from router.settings import load_settings  # noqa: E402
from router.store.db import make_engine  # noqa: E402
from router.store.models import Dispute, Event, Handoff  # noqa: E402
from router.store.report_models import DisputeFigures, HandoffFigures  # noqa: E402

YEAR = {"from_": date(2025, 12, 1), "to": date(2026, 11, 30)}
MONTH = {"from_": date(2026, 11, 1), "to": date(2026, 11, 30)}


class Clock:
    def __call__(self) -> datetime:
        return datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def times(fn: Any, n: int) -> list[float]:
    fn()  # warm the caches the way a second request finds them
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return sorted(out)


def pct(xs: list[float], p: float) -> float:
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", required=True)
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    os.environ.setdefault("ROUTER_PII_KEY", base64.urlsafe_b64encode(b"b" * 32).decode())
    os.environ.setdefault("ROUTER_SECRET_KEY", "bench-secret")
    os.environ["ROUTER_DATABASE_URL"] = args.database
    os.environ.setdefault("ROUTER_VAR_DIR", str(ROOT / "var" / "bench"))
    svc = build_services(load_settings(), engine=make_engine(args.database), clock=Clock())
    store = svc.ctx.store
    with store.read() as s:
        n = s.scalar(select(func.count()).select_from(Dispute)) or 0
        ids = list(s.scalars(select(Dispute.id).order_by(func.random()).limit(200)))
    df, hf = DisputeFigures, HandoffFigures

    def count(*where: Any, table: Any = df) -> Any:
        def q() -> None:
            with store.read() as s:
                s.scalar(select(func.count()).select_from(table).where(*where))
        return q

    def events_of() -> Any:
        it = iter(ids * 10)

        def q() -> None:
            with store.read() as s:
                d = next(it)
                list(s.execute(select(Event.id).where(Event.stream == d)))
                list(s.execute(select(Handoff.id).where(Handoff.dispute_id == d)))
        return q

    def timeline() -> Any:
        it = iter(ids * 10)
        return lambda: svc.timeline(next(it))

    year_rows = count(df.registered_on >= YEAR["from_"], df.registered_on <= YEAR["to"])
    lines = [
        ("KPI report, a year", lambda: svc.kpi_report(YEAR), year_rows, 2000),
        ("KPI report, a year by category", lambda: svc.kpi_report({**YEAR, "group_by": "category"}), year_rows, 2000),
        ("KPI report, a year by month", lambda: svc.kpi_report({**YEAR, "group_by": "month"}), year_rows, 2000),
        ("KPI report, a month", lambda: svc.kpi_report(MONTH), count(df.registered_on >= MONTH["from_"]), None),
        ("per agency, a year", lambda: svc.agency_report(YEAR),
         count(hf.offered_on >= YEAR["from_"], hf.offered_on <= YEAR["to"], table=hf), None),
        ("per town, a year, with the previous", lambda: svc.division_report({**YEAR, "level": "town"}), year_rows,
         None),
        ("workbench queue 超期, page 1", lambda: svc.queue(QueueFilter("overdue")),
         count(Handoff.state.in_(["offered", "delivered"]), table=Handoff), 200),
        ("early warnings (find)", lambda: warnings.find(svc.ctx), year_rows, None),
    ]
    runs = args.runs
    print(f"{store.engine.dialect.name}, {n:,} disputes; {runs} runs each (ms)")
    print(f"{'call':40} {'median':>8} {'p95':>8} {'floor':>8} {'ratio':>6} {'target':>7}")
    for name, fn, floor, target in lines:
        t, f = times(fn, runs), times(floor, runs)
        med, fmed = statistics.median(t), statistics.median(f)
        print(f"{name:40} {med:8.1f} {pct(t, 0.95):8.1f} {fmed:8.1f} {med / fmed:6.1f} "
              f"{(str(target) if target else '—'):>7}")
    random.shuffle(ids)
    t, f = times(timeline(), 200), times(events_of(), 200)
    print(f"{'one dispute timeline (p99)':40} {statistics.median(t):8.1f} {pct(t, 0.99):8.1f} "
          f"{statistics.median(f):8.1f} {statistics.median(t) / statistics.median(f):6.1f} {'20':>7}")


if __name__ == "__main__":
    main()
