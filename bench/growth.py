"""Cost as the database grows: intake, a supervisor's list page and a dispute's timeline, at 10 k,
100 k and 1 M disputes (the reports' bench data set, bench/seed.py), and this process's memory.

    python bench/growth.py --database postgresql://postgres@127.0.0.1/bench [--steps 10000,100000,1000000]

The database grows in place to each step (bench/seed.py, resumable; give it a database of its own,
it is not emptied), then each request is timed through the whole Flask app in this process: the
median and p95 of `--samples` calls, and the CPU milliseconds of an intake. Flat is the goal: every
query on these paths is on an index, whatever the table sizes. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh import ROOT  # noqa: E402
from intake import dispute  # noqa: E402

from router.server import application  # noqa: E402
from router.services import build_services  # noqa: E402
from router.settings import load_settings  # noqa: E402
from router.store.db import make_engine  # noqa: E402


def rss_mib() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(call: Any, samples: int) -> tuple[float, float]:
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


def measure(database: str, samples: int) -> dict[str, Any]:
    svc = build_services(load_settings(), engine=make_engine(database))
    app = application(svc)
    client = app.test_client()
    stamp = str(time.time_ns())
    clerk = {"Authorization": f"Bearer {svc.add_user(f'growth-clerk-{stamp}', 'clerk')}"}
    sup = {"Authorization": f"Bearer {svc.add_user(f'growth-sup-{stamp}', 'supervisor')}"}
    villages = [d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village"][:50]
    rng = random.Random(3)
    total = client.get("/api/v1/disputes?per_page=1", headers=sup).get_json()["total"]
    ids = [d["id"] for d in client.get(f"/api/v1/disputes?per_page=100&page={max(1, total // 200)}",
                                       headers=sup).get_json()["items"]]

    def intake() -> None:
        assert client.post("/api/v1/disputes", json=dispute(rng, villages), headers=clerk).status_code == 201

    for _ in range(20):
        intake()
    cpu0 = time.process_time()
    intake_ms = timed(intake, samples)
    intake_cpu = (time.process_time() - cpu0) / samples * 1000
    listing = timed(lambda: client.get("/api/v1/disputes?state=in_handling&per_page=50", headers=sup), samples)
    timeline = timed(lambda: client.get(f"/api/v1/disputes/{rng.choice(ids)}/timeline", headers=sup), samples)
    return {"disputes": total, "intake": intake_ms, "intake_cpu": intake_cpu, "list": listing,
            "timeline": timeline, "rss": rss_mib()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", required=True)
    p.add_argument("--steps", default="10000,100000,1000000")
    p.add_argument("--samples", type=int, default=200)
    args = p.parse_args()
    env = {**os.environ, "ROUTER_DATABASE_URL": args.database, "ROUTER_LOG_LEVEL": "WARNING"}
    env.setdefault("ROUTER_PII_KEY", "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=")  # bench/seed.py's default
    env.setdefault("ROUTER_SECRET_KEY", "bench-secret")
    env.setdefault("ROUTER_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.update(env)
    rows = []
    for step in [int(s) for s in args.steps.split(",")]:
        subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), "--database", args.database,
                        "--disputes", str(step)], check=True, env=env)
        rows.append(measure(args.database, args.samples))
        print(rows[-1], flush=True)
    print("\n| disputes | intake p50 / p95 ms | intake CPU ms | list p50 / p95 ms | timeline p50 / p95 ms | RSS MiB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['disputes']} | {r['intake'][0]:.1f} / {r['intake'][1]:.1f} | {r['intake_cpu']:.1f} | "
              f"{r['list'][0]:.1f} / {r['list'][1]:.1f} | {r['timeline'][0]:.1f} / {r['timeline'][1]:.1f} | "
              f"{r['rss']:.0f} |")


if __name__ == "__main__":
    main()
