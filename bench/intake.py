"""Intake against its floor: the project and bench/floor.py under the same server and load, in one run.

    python bench/intake.py [--database URL] [--workers 2] [--connections 8] [--seconds 15] [--rounds 3]

Both are served by gunicorn with the same number of sync workers on a fresh database (a new SQLite
file by default; a PostgreSQL URL is emptied first, so give it a database of its own) and loaded in
turn, floor then project, `--rounds` times, every request a fresh valid dispute (its own ID number,
phone and names). The load comes from wrk when it is installed (Debian's package), otherwise from a
Python client (slower: it then shares the cores with the servers). Prints one table per side and
the ratio of the project's best round to the floor's best, then the statements and the in-process
CPU time of one intake. It asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh import fresh, gunicorn, worker_rss_mib  # noqa: E402

CATEGORIES = ["NEIGHBOUR", "LABOUR", "CONTRACT", "DAMAGES", "PROPERTY_MGMT", "MARRIAGE_FAMILY", "CONSUMER"]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def id_number(rng: random.Random) -> str:
    body = f"330681{rng.randint(1960, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def dispute(rng: random.Random, divisions: list[str]) -> dict[str, Any]:
    """A fresh valid intake body: its own ID number, phone and names."""
    div = rng.choice(divisions)
    return {"source": "walk_in", "category": rng.choice(CATEGORIES), "summary": "基准测试纠纷",
            "amount": f"{rng.randint(100, 200000)}.00", "people_involved": rng.randint(1, 3), "division": div,
            "wish": "mediation",
            "parties": [{"role": "applicant", "kind": "person", "name": name(rng), "id_number": id_number(rng),
                         "phone": f"138{rng.randint(0, 99999999):08d}", "division": div},
                        {"role": "respondent", "kind": "person", "name": name(rng), "division": div}]}


# wrk builds each body itself (a Lua request() per request), so the load generator costs little.
WRK_SCRIPT = r"""
local villages = {%(villages)s}
local cats = {%(cats)s}
local surnames, given = {%(surnames)s}, {%(given)s}
local W = {7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2}
local C = "10X98765432"
local n = 0
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args) math.randomseed(os.time() * 97 + (tid or 0) * 7919) end
local function pick(t) return t[math.random(#t)] end
local function nm() return pick(surnames) .. pick(given) .. pick(given) end
local function idn()
  local b = string.format("330681%%04d%%02d%%02d%%03d", math.random(1960, 2000), math.random(1, 12),
                          math.random(1, 28), math.random(0, 999))
  local s = 0
  for i = 1, 17 do s = s + tonumber(b:sub(i, i)) * W[i] end
  local k = s %% 11 + 1
  return b .. C:sub(k, k)
end
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"}
request = function()
  local v = pick(villages)
  local body = string.format('{"source":"walk_in","category":"%%s","summary":"基准测试纠纷","amount":"%%d.00",' ..
    '"people_involved":%%d,"division":"%%s","wish":"mediation","parties":[{"role":"applicant","kind":"person",' ..
    '"name":"%%s","id_number":"%%s","phone":"138%%08d","division":"%%s"},{"role":"respondent","kind":"person",' ..
    '"name":"%%s","division":"%%s"}]}', pick(cats), math.random(100, 200000), math.random(1, 3), v, nm(), idn(),
    math.random(0, 99999999), v, nm(), v)
  return wrk.format("POST", "/api/v1/disputes", headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %%d, "seconds": %%f, "p50": %%d, "p99": %%d, "non2xx": %%d, ' ..
    '"socket_errors": %%d}\n', summary.requests, summary.duration / 1e6, latency:percentile(50),
    latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def lua_list(items: list[str]) -> str:
    return ",".join(f'"{i}"' for i in items)


def load_wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, Any]:
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    r = json.loads(line[4:])
    return {"rps": r["requests"] / r["seconds"], "p50": r["p50"] / 1000, "p99": r["p99"] / 1000,
            "errors": r["non2xx"] + r["socket_errors"], "requests": r["requests"]}


def load_python(url: str, token: str, villages: list[str], connections: int, seconds: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def run(i: int) -> None:
        s, rng = requests.Session(), random.Random(time.time_ns() + i)
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            r = s.post(f"{url}/api/v1/disputes", json=dispute(rng, villages),
                       headers={"Authorization": f"Bearer {token}"}, timeout=60)
            with lock:
                latencies.append(time.perf_counter() - t0)
                errors[0] += r.status_code != 201

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / (time.perf_counter() - start), "p50": q[49] * 1000, "p99": q[98] * 1000,
            "errors": errors[0], "requests": len(latencies)}


def statements(svc: Any, engine: Any, token: str, villages: list[str]) -> tuple[collections.Counter[str], float]:
    """The SQL statements of one intake through the whole app in process, and its CPU milliseconds."""
    from sqlalchemy import event

    from router.server import application
    client = application(svc).test_client()
    rng, headers = random.Random(7), {"Authorization": f"Bearer {token}"}
    seen: collections.Counter[str] = collections.Counter()
    counting = [False]

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if counting[0]:
            words = statement.split()
            seen[" ".join(words[:3] if words[0] in ("INSERT", "DELETE") else words[:2])] += 1

    event.listen(engine, "before_cursor_execute", count)
    for _ in range(50):
        client.post("/api/v1/disputes", json=dispute(rng, villages), headers=headers)
    counting[0] = True
    client.post("/api/v1/disputes", json=dispute(rng, villages), headers=headers)
    counting[0] = False
    n, t0 = 300, time.process_time()
    for _ in range(n):
        client.post("/api/v1/disputes", json=dispute(rng, villages), headers=headers)
    event.remove(engine, "before_cursor_execute", count)
    return seen, (time.process_time() - t0) / n * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", help="postgresql://... (emptied first); default: a new SQLite file")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers for each side")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--python-load", action="store_true", help="use the Python client even when wrk is installed")
    args = p.parse_args()

    env, settings, engine, svc = fresh("intake", args.database)
    token = svc.add_user("bench-clerk", "clerk")
    villages = [d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village"][:50]
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    script = Path(tempfile.mkdtemp(prefix="bench-wrk-")) / "intake.lua"
    script.write_text(WRK_SCRIPT % {"villages": lua_list(villages), "cats": lua_list(CATEGORIES),
                                    "surnames": lua_list(list(SURNAMES)), "given": lua_list(list(GIVEN)),
                                    "token": token}, encoding="utf-8")
    sides = {"floor": "bench.floor:app()", "project": "router.wsgi:app"}
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in sides}
    rss: dict[str, list[float]] = {}
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for side, app in sides.items():
            servers[side] = gunicorn(app, env, args.workers)
        for _ in range(args.rounds):
            for side, (_proc, url) in servers.items():
                results[side].append(load_wrk(url, script, args.connections, args.seconds) if use_wrk else
                                     load_python(url, token, villages, args.connections, args.seconds))
        rss = {side: worker_rss_mib(proc.pid) for side, (proc, _url) in servers.items()}
    finally:
        for proc, _url in servers.values():
            proc.terminate()
            proc.wait(10)
    db = "PostgreSQL" if not settings.is_sqlite else "SQLite (WAL, synchronous=FULL)"
    print(f"\n{db}; gunicorn {args.workers} sync workers each; {'wrk' if use_wrk else 'Python client'}, "
          f"{args.connections} connections, {args.seconds} s per round, {args.rounds} rounds alternating\n")
    print("| side | round | requests | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    for side, rows in results.items():
        for i, r in enumerate(rows, 1):
            print(f"| {side} | {i} | {r['requests']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                  f"{r['errors']} |")
    best = {side: max(r["rps"] for r in rows) for side, rows in results.items()}
    print(f"\n**ratio project / floor: {best['project'] / best['floor']:.2f}** "
          f"(best rounds: {best['project']:.0f} / {best['floor']:.0f} req/s)\n")
    print("resident memory of each web process after the load: " + "; ".join(
        f"{side} {', '.join(f'{m:.0f}' for m in mib)} MiB" for side, mib in rss.items()) + "\n")
    seen, ms = statements(svc, engine, token, villages)
    print(f"one intake in process: {sum(seen.values())} statements, {ms:.2f} ms CPU")
    print("| statements | count |\n|---|---|")
    for stmt, n in seen.most_common():
        print(f"| {stmt} | {n} |")


if __name__ == "__main__":
    main()
