"""Readiness: can this process reach what it needs? The database always; the broker when it is a
real one (the embedded in-process transport lives in the process itself).

A probe never raises. The broker answer is kept for a few seconds, so a load balancer polling
`/readyz` under load costs one connection now and then, not one per probe.
"""

from __future__ import annotations

import threading
import time

from kombu import Connection
from sqlalchemy import text

from router.services.context import ServiceContext

BROKER_TTL_SECONDS = 5.0
BROKER_TIMEOUT_SECONDS = 1.0
_last: dict[str, tuple[float, bool]] = {}
_lock = threading.Lock()


def database_ready(ctx: ServiceContext) -> bool:
    try:
        with ctx.store.read() as s:
            s.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - readiness reports, never raises
        return False


def broker_ready(ctx: ServiceContext) -> bool:
    url = ctx.settings.broker_url
    if url.startswith("memory://"):
        return True
    with _lock:
        seen = _last.get(url)
    if seen is not None and time.monotonic() - seen[0] < BROKER_TTL_SECONDS:
        return seen[1]
    ok = _probe(url)
    with _lock:
        _last[url] = (time.monotonic(), ok)
    return ok


def _probe(url: str) -> bool:
    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


class Watcher:
    """Readiness asked every second on a thread of its own, so that answering `/readyz` costs
    nothing: the single-process server answers it on its IO thread (router/limits.py), which must
    never wait on a database or a broker. An answer older than `stale` seconds (the check itself is
    stuck) reads as not ready."""

    def __init__(self, ctx: ServiceContext, every: float = 1.0, stale: float = 5.0) -> None:
        self.ctx, self.every, self.stale = ctx, every, stale
        self.stop = threading.Event()
        self._last: tuple[float, dict[str, bool]] | None = None
        self._thread = threading.Thread(target=self._run, name="readiness", daemon=True)

    def start(self) -> Watcher:
        self._last = (time.monotonic(), _check(self.ctx))
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self._last = (time.monotonic(), _check(self.ctx))

    def current(self) -> dict[str, bool]:
        last = self._last
        if last is None or time.monotonic() - last[0] > self.stale:
            return {"database": False, "broker": False}
        return dict(last[1])


def _check(ctx: ServiceContext) -> dict[str, bool]:
    return {"database": database_ready(ctx), "broker": broker_ready(ctx)}


def readiness(ctx: ServiceContext) -> dict[str, bool]:
    return {"database": database_ready(ctx), "broker": broker_ready(ctx)}
