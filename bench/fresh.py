"""What the benches share: a fresh database (a new SQLite file, or a PostgreSQL database emptied),
migrated, with the configured agencies, and services on it; a clock the bench moves itself; and a
gunicorn server on a free port."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from router.services import Services, build_services  # noqa: E402
from router.settings import Settings, load_settings  # noqa: E402
from router.store.db import make_engine  # noqa: E402
from router.store.migrate import upgrade  # noqa: E402


class Clock:
    """The service's clock, moved by the bench (Monday 2026-11-23, 10:00 in Beijing, to start)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def fresh(prefix: str, database: str | None = None, clock: Any = None,
          **env_extra: str) -> tuple[dict[str, str], Settings, Any, Services]:
    """(env, settings, engine, services) on an empty, migrated database with the agencies loaded."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    env = {"ROUTER_DATABASE_URL": database or f"sqlite:///{tmp / 'bench.db'}",
           "ROUTER_CONFIG_DIR": str(ROOT / "config"), "ROUTER_VAR_DIR": str(tmp),
           "ROUTER_PII_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(), "ROUTER_SECRET_KEY": "bench",
           **env_extra}
    settings = load_settings(env)
    engine = make_engine(settings.database_url)
    if not settings.is_sqlite:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(engine)
    svc = build_services(settings, engine=engine, **({"clock": clock} if clock is not None else {}))
    svc.sync_agencies()
    return env, settings, engine, svc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn(app: str, env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """`app` under gunicorn with `workers` sync workers on a free port, once it answers; (process, URL)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--chdir", str(ROOT), "--log-level", "warning", app],
                            env={**os.environ, **env, "ROUTER_LOG_LEVEL": "WARNING"})
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(f"{url}/nothing", timeout=5)
            return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{app} did not start")


def worker_rss_mib(master: int) -> list[float]:
    """Resident memory of a gunicorn master's worker processes (Linux /proc; empty elsewhere)."""
    out: list[float] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{master}/task").iterdir():
            for child in (task / "children").read_text().split():
                for line in Path(f"/proc/{child}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]) / 1024)
    return out
