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


def readiness(ctx: ServiceContext) -> dict[str, bool]:
    return {"database": database_ready(ctx), "broker": broker_ready(ctx)}
