"""Page times of the web workbench and the dispute page, with a database of many disputes.

    python bench/web.py                                            # SQLite file, 5000 disputes
    python bench/web.py --database postgresql://postgres@127.0.0.1/db --disputes 20000

Registers the disputes through the service (as the window does), moves the clock so that some
acknowledgement deadlines have passed, then times, for each page, the whole request through the
Flask app (sign-in cookie, service, template) against its floor: the service call alone that
produces the page's data. Prints a table (median and p95 in ms, and the ratio); asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fresh import Clock, fresh  # noqa: E402
from router.schemas.intake import DisputeIn, intake_command  # noqa: E402
from router.server import application  # noqa: E402
from router.services import Actor  # noqa: E402
from router.services.queues import QueueFilter  # noqa: E402

CLERK = Actor("user", "bench-clerk", "clerk")
CATEGORIES = ("NEIGHBOUR", "LABOUR", "CONTRACT", "PROPERTY_MGMT", "DAMAGES")


def _times(fn, n: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", default=None, help="default: a fresh SQLite file")
    p.add_argument("--disputes", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=30)
    args = p.parse_args()

    clock = Clock()
    _, settings, _, svc = fresh("web", args.database, clock)
    svc.add_user("bench-supervisor", "supervisor", "bench-pass-1")
    villages = sorted(d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village")
    t0 = time.perf_counter()
    ids = []
    for i in range(args.disputes):
        clock.now += timedelta(minutes=3)
        v = villages[i % len(villages)]
        body = {"source": "walk_in", "category": CATEGORIES[i % len(CATEGORIES)], "summary": f"纠纷{i}",
                "division": v, "parties": [{"role": "applicant", "name": f"申请人{i}", "phone": f"139{i:08d}"},
                                           {"role": "respondent", "name": f"被申请人{i}"}]}
        ids.append(svc.register_dispute(intake_command(DisputeIn().load(body)), CLERK)[1]["id"])
    print(f"registered {args.disputes} disputes in {time.perf_counter() - t0:.0f} s "
          f"({settings.database_url.split('://')[0]})")

    app = application(svc)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    client.post("/login", data={"csrf_token": token, "username": "bench-supervisor", "password": "bench-pass-1"})
    counts = svc.queue(QueueFilter("overdue"))["counts"]
    print("queues:", ", ".join(f"{k} {v}" for k, v in counts.items()))
    one = ids[len(ids) // 2]
    pages = [
        ("/supervise?queue=overdue", lambda: svc.queue(QueueFilter("overdue"))),
        ("/supervise?queue=due_week", lambda: svc.queue(QueueFilter("due_week"))),
        ("/supervise?queue=overdue&category=LABOUR&sort=-reference",
         lambda: svc.queue(QueueFilter("overdue", category="LABOUR", sort="-reference"))),
        ("/disputes/<id>", lambda: (svc.get_dispute(one), svc.timeline(one), svc.verify_dispute_chain(one))),
        ("/window/lookup?q=<phone>", lambda: svc.lookup("13900002500")),
    ]
    print("\n| page | page median ms | page p95 ms | floor (service) median ms | ratio |")
    print("|---|---|---|---|---|")
    for path, floor in pages:
        url = path.replace("<id>", one).replace("<phone>", "13900002500")
        page = _times(lambda url=url: client.get(url), args.repeat)
        base = _times(floor, args.repeat)
        pm, fm = statistics.median(page), statistics.median(base)
        p95 = sorted(page)[int(len(page) * 0.95) - 1]
        print(f"| `{path}` | {pm:.1f} | {p95:.1f} | {fm:.1f} | {pm / fm:.2f} |")


if __name__ == "__main__":
    main()
