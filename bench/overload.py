"""Overload: far more clients than the service can serve, against `dispute-router serve` (waitress).

    python bench/overload.py                                   # SQLite, 1,500 connections for 90 s
    python bench/overload.py --connections 300 --seconds 20
    python bench/overload.py --database postgresql://postgres@127.0.0.1/db

wrk (Debian's package; required here) keeps every connection posting fresh valid registrations
while a prober asks `/healthz` and `/readyz` every half second with a one-second timeout, as a
liveness probe would. Printed: the answers by status, how many 503s carried Retry-After, the
registrations answered 201 against the disputes stored (each 201 must be stored; more stored than
answered are registrations whose client gave up before the answer), and the probes' failures and
slowest answer. The floor is the same service unloaded: its 201s per second at 8 connections, in
the same run. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.fresh import free_port, fresh  # noqa: E402
from bench.intake import CATEGORIES, GIVEN, SURNAMES, WRK_SCRIPT, lua_list  # noqa: E402
from router.store.models import Dispute  # noqa: E402

# The intake script's request(), with every answer counted by status (and 503s by Retry-After).
COUNTING = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) math.randomseed(os.time() * 97 + math.random(1, 100000)); statuses = {}; retry_after = 0 end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 503 and headers["Retry-After"] then retry_after = retry_after + 1 end
end
done = function(summary, latency, requests)
  local all, ra = {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do all[k] = (all[k] or 0) + v end
    ra = ra + t:get("retry_after")
  end
  local parts = {}
  for k, v in pairs(all) do table.insert(parts, string.format('"%d": %d', k, v)) end
  local e = summary.errors
  io.write(string.format('WRK {"statuses": {%s}, "retry_after": %d, "seconds": %f, "p50": %d, "p99": %d, ' ..
    '"timeouts": %d, "socket_errors": %d}\n', table.concat(parts, ", "), ra, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99), e.timeout, e.connect + e.read + e.write))
end
"""


def script(token: str, villages: list[str]) -> Path:
    base = WRK_SCRIPT.split("done = function")[0].replace(
        "function setup(thread) n = n + 1; thread:set(\"tid\", n) end\n", "").replace(
        "function init(args) math.randomseed(os.time() * 97 + (tid or 0) * 7919) end\n", "")
    path = Path(tempfile.mkdtemp(prefix="bench-overload-")) / "overload.lua"
    text = base % {"villages": lua_list(villages), "cats": lua_list(CATEGORIES), "surnames": lua_list(list(SURNAMES)),
                   "given": lua_list(list(GIVEN)), "token": token}
    path.write_text(text + COUNTING, encoding="utf-8")
    return path


def wrk(url: str, lua: Path, connections: int, seconds: int) -> dict[str, Any]:
    threads = min(4, connections)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
                          "-s", str(lua), url], capture_output=True, text=True, check=True).stdout
    return json.loads(next(ln for ln in out.splitlines() if ln.startswith("WRK "))[4:])


class Prober(threading.Thread):
    """/healthz and /readyz every half second, one-second timeout: what a liveness probe sees."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url, threading.Event()
        self.results: dict[str, list[float | None]] = {"/healthz": [], "/readyz": []}
        self.failed_at: dict[str, list[float]] = {"/healthz": [], "/readyz": []}  # seconds into the run
        self.started = time.monotonic()

    def run(self) -> None:
        while not self.stop.is_set():
            for path, seen in self.results.items():
                t0 = time.perf_counter()
                try:
                    ok = requests.get(self.url + path, timeout=1.0).status_code == 200
                    seen.append(time.perf_counter() - t0 if ok else None)
                except requests.RequestException:
                    seen.append(None)
                if seen[-1] is None:
                    self.failed_at[path].append(time.monotonic() - self.started)
            self.stop.wait(0.5)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", help="postgresql://... (emptied first); default: a new SQLite file")
    p.add_argument("--connections", type=int, default=1500)
    p.add_argument("--seconds", type=int, default=90)
    p.add_argument("--threads", type=int, default=8, help="the server's threads")
    args = p.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed here (apt-get install wrk)")
    env, settings, engine, svc = fresh("overload", args.database)
    token = svc.add_user("bench-clerk", "clerk")
    villages = [d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village"][:50]
    lua = script(token, villages)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "router.cli", "serve", "--port", str(port), "--threads",
                               str(args.threads)], env={**os.environ, **env}, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        floor = wrk(url, lua, 8, 10)
        prober = Prober(url)
        prober.start()
        loaded = wrk(url, lua, args.connections, args.seconds)
        time.sleep(3)  # what was still being answered when wrk stopped
        prober.stop.set()
        prober.join()
    finally:
        server.terminate()
        server.wait(30)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Dispute)).scalar() or 0
    created = int(floor["statuses"].get("201", 0)) + int(loaded["statuses"].get("201", 0))
    floor_rate = int(floor["statuses"].get("201", 0)) / floor["seconds"]
    print(f"\n{'SQLite' if settings.is_sqlite else 'PostgreSQL'}; dispute-router serve, {args.threads} threads; "
          f"wrk {args.connections} connections for {args.seconds} s (10 s timeout)\n")
    print("| answers | count |\n|---|---:|")
    for status, n in sorted(loaded["statuses"].items()):
        print(f"| HTTP {status} | {n} |")
    print(f"| client timeouts | {loaded['timeouts']} |\n| socket errors | {loaded['socket_errors']} |")
    ok = int(loaded["statuses"].get("201", 0)) / loaded["seconds"]
    print(f"\n201/s under overload {ok:.0f}, floor (8 connections, unloaded) {floor_rate:.0f}: "
          f"ratio {ok / floor_rate if floor_rate else 0:.2f}; p50 {loaded['p50'] / 1000:.0f} ms, "
          f"p99 {loaded['p99'] / 1000:.0f} ms")
    print(f"503 with Retry-After: {loaded['retry_after']} of {loaded['statuses'].get('503', 0)}")
    print(f"disputes answered 201: {created}; stored: {stored} (stored - answered = {stored - created}: "
          "registrations whose client gave up first)")
    print("\n| probe | asked | failed (no 200 within 1 s) | at second | slowest |\n|---|---:|---:|---|---:|")
    for path, seen in prober.results.items():
        answered = [s for s in seen if s is not None]
        at = ", ".join(f"{t:.0f}" for t in prober.failed_at[path]) or "-"
        print(f"| {path} | {len(seen)} | {len(seen) - len(answered)} | {at} | "
              f"{max(answered) * 1000 if answered else 0:.0f} ms |")


if __name__ == "__main__":
    main()
