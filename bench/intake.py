"""Intake throughput against a running server: requests/s and latency percentiles.

    python bench/intake.py --url http://127.0.0.1:8000 --token TOKEN [--requests 2000] [--concurrency 8]

Each request registers a dispute (the full path: validation, routing, handoffs, events, outbox,
timers in one transaction). Prints a table; it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

CATEGORIES = ["NEIGHBOUR", "LABOUR", "CONTRACT", "DAMAGES", "PROPERTY_MGMT", "MARRIAGE_FAMILY", "CONSUMER"]


def id_number(rng: random.Random) -> str:
    body = f"330681{rng.randint(1960, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def dispute(rng: random.Random, divisions: list[str]) -> dict:
    div = rng.choice(divisions)
    return {"source": "walk_in", "category": rng.choice(CATEGORIES), "summary": "基准测试纠纷",
            "amount": f"{rng.randint(100, 200000)}.00", "people_involved": rng.randint(1, 3), "division": div,
            "wish": "mediation",
            "parties": [{"role": "applicant", "kind": "person", "name": "张三", "id_number": id_number(rng),
                         "phone": f"138{rng.randint(0, 99999999):08d}", "division": div},
                        {"role": "respondent", "kind": "person", "name": "李四", "division": div}]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--token", required=True, help="a clerk's bearer token")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--label", default="")
    args = p.parse_args()

    auth = {"Authorization": f"Bearer {args.token}"}
    tree = requests.get(f"{args.url}/api/v1/reference/divisions", headers=auth, timeout=10).json()
    villages: list[str] = []
    frontier = [d["code"] for d in tree]
    while frontier and len(villages) < 50:
        code = frontier.pop()
        kids = requests.get(f"{args.url}/api/v1/reference/divisions", params={"parent": code}, headers=auth,
                            timeout=10).json()
        villages += [k["code"] for k in kids if k["level"] == "village"]
        frontier += [k["code"] for k in kids if k["has_children"]]
    local = threading.local()
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.rng = random.Random(i)
        body = dispute(local.rng, villages)
        t0 = time.perf_counter()
        r = local.s.post(f"{args.url}/api/v1/disputes", json=body, headers=auth, timeout=60)
        dt = time.perf_counter() - t0
        with lock:
            latencies.append(dt)
            if r.status_code != 201:
                errors.append(r.status_code)

    for i in range(min(20, args.requests)):  # warm-up, not counted
        one(i)
    latencies.clear()
    errors.clear()
    start = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(one, range(args.requests)))
    wall = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    print("| setup | requests | concurrency | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.label or args.url} | {len(latencies)} | {args.concurrency} | {len(latencies) / wall:.1f} "
          f"| {q[49] * 1000:.1f} | {q[98] * 1000:.1f} | {len(errors)} |")


if __name__ == "__main__":
    main()
