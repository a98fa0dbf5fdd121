"""Scheduler throughput: how many due timers one scheduler (or several) fires per second.

    python bench/timers.py                                          # SQLite file
    python bench/timers.py --database postgresql://postgres@127.0.0.1/db --schedulers 1,2

Two workloads, each with its timers all due at once:
- warn: yellow-warning rungs on acknowledged handoffs (lock the dispute, append one event);
- expiry: acknowledgement deadlines passed in silence (expire the handoff, re-route the lead: a new
  handoff, its outbox and delivery rows, its own ladder timers) plus the moot rungs around them.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from router.schemas.intake import DisputeIn, intake_command  # noqa: E402
from router.services import Actor, build_services  # noqa: E402
from router.settings import load_settings  # noqa: E402
from router.store.db import make_engine  # noqa: E402
from router.store.migrate import upgrade  # noqa: E402
from router.store.models import Timer  # noqa: E402

CLERK = Actor("user", "bench", "clerk")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", default=None, help="default: a fresh SQLite file")
    p.add_argument("--disputes", type=int, default=300)
    p.add_argument("--warn-per-handoff", type=int, default=10)
    p.add_argument("--schedulers", default="1,2", help="scheduler counts to try (threads, one engine each)")
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-timers-"))
    env = {"ROUTER_DATABASE_URL": args.database or f"sqlite:///{tmp / 'bench.db'}",
           "ROUTER_CONFIG_DIR": str(ROOT / "config"), "ROUTER_VAR_DIR": str(tmp),
           "ROUTER_PII_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(), "ROUTER_SECRET_KEY": "bench",
           "ROUTER_LOG_LEVEL": "WARNING"}
    settings = load_settings(env)
    villages = [d.code for d in settings.domain.divisions.by_code.values() if d.level == "village"]
    template = {"source": "walk_in", "category": "NEIGHBOUR", "summary": "基准", "amount": "1000.00",
                "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}]}
    commands = [intake_command(DisputeIn().load({**template, "division": v})) for v in villages]
    rows = []
    for n_sched in [int(x) for x in args.schedulers.split(",")]:
        for workload in ("warn", "expiry"):
            clock = Clock()
            svc, engines = fresh(settings, clock, n_sched)
            handoffs = []
            for i in range(args.disputes):
                _, d = svc.register_dispute(commands[i % len(commands)], CLERK)
                lead = d["handoffs"][0]
                if workload == "warn":
                    svc.agency_event(lead["agency"], lead["id"],
                                     {"event_id": str(uuid.uuid4()), "type": "acknowledged"})
                handoffs.append((d["id"], lead["id"]))
            if workload == "warn":
                with svc.ctx.store.unit_of_work() as uow:
                    for dispute_id, handoff_id in handoffs:
                        for _ in range(args.warn_per_handoff):
                            uow.session.add(Timer(kind="handle_warn", due_at=clock.now, rule="bench",
                                                  dispute_id=dispute_id, handoff_id=handoff_id, data={},
                                                  created_at=clock.now))
            else:
                clock.now += timedelta(days=10)  # every acknowledgement deadline has passed in silence
            due = count_due(svc)
            schedulers = [build_services(settings, engine=e, clock=clock) for e in engines]
            fired = [0] * n_sched
            t0 = time.perf_counter()

            def run(i: int, schedulers: list = schedulers, fired: list = fired, svc=svc) -> None:
                while True:
                    n = schedulers[i].run_due_timers(limit=200)
                    fired[i] += n
                    if n == 0 and count_due(svc) == 0:
                        return

            threads = [threading.Thread(target=run, args=(i,)) for i in range(n_sched)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            rows.append((settings.database_url.split(":")[0], workload, n_sched, due, sum(fired), elapsed))
            for e in engines:
                e.dispose()

    print(f"{'database':<11}{'workload':<9}{'schedulers':>11}{'due':>8}{'fired':>8}{'seconds':>9}{'timers/s':>10}")
    for db, w, n, due, fired_total, s in rows:
        print(f"{db:<11}{w:<9}{n:>11}{due:>8}{fired_total:>8}{s:>9.2f}{fired_total / s:>10.0f}")


def fresh(settings, clock, n_sched):
    if settings.is_sqlite:
        for suffix in ("", "-wal", "-shm"):
            Path(settings.database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    engine = make_engine(settings.database_url)
    if not settings.is_sqlite:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(engine)
    svc = build_services(settings, engine=engine, clock=clock)
    svc.sync_agencies()
    return svc, [engine] if settings.is_sqlite else [make_engine(settings.database_url) for _ in range(n_sched)]


def count_due(svc) -> int:
    with svc.ctx.store.read() as s:
        return s.scalar(select(func.count()).select_from(Timer).where(
            Timer.fired_at.is_(None), Timer.cancelled_at.is_(None), Timer.due_at <= svc.ctx.now())) or 0


if __name__ == "__main__":
    main()
