"""The benchmarks' data set straight into the database: by default 1,000,000 disputes over the three
years before 1 December 2026, about ten events each (router/testing/seed.py says how each is played).

    python bench/seed.py --database postgresql://postgres@127.0.0.1/bench            # 1,000,000
    python bench/seed.py --database sqlite:///var/bench.db --disputes 100000

Generated in worker processes, written in batches of one transaction each, with a progress bar;
interrupted, it resumes where it stopped.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import multiprocessing
import os
import sys
from collections import deque
from datetime import UTC, datetime
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.services import build_services  # noqa: E402
from router.settings import load_settings  # noqa: E402
from router.store.db import make_engine  # noqa: E402
from router.store.migrate import upgrade  # noqa: E402
from router.testing.seed import Seeder, generate, seeded, write  # noqa: E402

UNTIL = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
_seeder: Seeder | None = None


def _start_worker(database: str, days: int) -> None:
    """Each generating process has its own services (and its own caches)."""
    global _seeder
    _seeder = Seeder(build_services(load_settings(), engine=make_engine(database)), UNTIL, days)


def _generate(bounds: tuple[int, int]) -> dict[str, list[dict[str, Any]]]:
    assert _seeder is not None
    return generate(_seeder, *bounds)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", required=True)
    p.add_argument("--disputes", type=int, default=1_000_000)
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 2), help="generating processes")
    args = p.parse_args()
    os.environ.setdefault("ROUTER_PII_KEY", base64.urlsafe_b64encode(b"b" * 32).decode())
    os.environ.setdefault("ROUTER_SECRET_KEY", "bench-secret")
    os.environ["ROUTER_DATABASE_URL"] = args.database
    os.environ.setdefault("ROUTER_VAR_DIR", str(ROOT / "var" / "bench"))
    engine = make_engine(args.database)
    upgrade(engine)
    svc = build_services(load_settings(), engine=engine)
    svc.sync_agencies()
    done = seeded(svc)
    days = 365 * args.years
    bounds = [(b, min(b + args.batch, args.disputes)) for b in range(done, args.disputes, args.batch)]
    with tqdm(total=args.disputes, initial=done, unit="件", desc="disputes", smoothing=0.05) as bar, \
            multiprocessing.get_context("spawn").Pool(args.workers, _start_worker, (args.database, days)) as pool:
        # In order (the resume count stays exact) and at most two batches ahead per worker: imap would
        # let the generators run arbitrarily far ahead of the writer and hold every batch in memory.
        ahead: deque[AsyncResult[dict[str, list[dict[str, Any]]]]] = deque()
        queued = iter(bounds)
        for b in itertools.islice(queued, 2 * args.workers):
            ahead.append(pool.apply_async(_generate, (b,)))
        while ahead:
            rows = ahead.popleft().get()
            for b in itertools.islice(queued, 1):
                ahead.append(pool.apply_async(_generate, (b,)))
            write(svc, rows)
            bar.update(len(rows["disputes"]))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    print(f"{args.disputes} disputes in {args.database.split('@')[-1]}; until {UNTIL.date()}")


if __name__ == "__main__":
    main()
