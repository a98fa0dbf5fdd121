"""What the benches share: a fresh database (a new SQLite file, or a PostgreSQL database emptied),
migrated, with the configured agencies, and services on it; and a clock the bench moves itself."""

from __future__ import annotations

import base64
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
