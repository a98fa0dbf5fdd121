"""`dispute-router serve` as its own process, for the tests that need a real server: a fresh SQLite
file, a migrated database and a clerk's token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.builders import PII_KEY, ROOT, config_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepared(tmp: Path) -> tuple[dict[str, str], str]:
    """(the service's environment on a new SQLite file under `tmp`, a clerk's token)."""
    env = {**os.environ, "ROUTER_DATABASE_URL": f"sqlite:///{tmp / 'serve.db'}", "ROUTER_VAR_DIR": str(tmp / "var"),
           "ROUTER_PII_KEY": PII_KEY, "ROUTER_SECRET_KEY": "s", "ROUTER_CONFIG_DIR": config_dir()}
    run = [sys.executable, "-m", "router.cli"]
    assert subprocess.run([*run, "init-db"], env=env, cwd=ROOT, capture_output=True, timeout=120).returncode == 0
    r = subprocess.run([*run, "user", "add", "--name", "clerk", "--role", "clerk"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    return env, r.stdout.strip().splitlines()[-1]


def serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], int]:
    """`dispute-router serve --port P *args` started: (process, port). Its first line is on stdout."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "router.cli", "serve", "--port", str(port), *args], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, port


def wait_healthy(port: int) -> None:
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`dispute-router *args` in its own process (the commands with a progress bar made quiet)."""
    quiet = ["--quiet"] if (args[0] in ("backup", "restore") or args[:2] == ("audit", "verify")) \
        and "--quiet" not in args else []
    return subprocess.run([sys.executable, "-m", "router.cli", *args, *quiet],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def register_into(env: dict[str, str], n: int) -> None:
    """`n` registrations into the service that `env` describes, from this process."""
    from router.services import build_services
    from router.settings import load_settings
    from tests.builders import CLERK, body, command

    svc = build_services(load_settings(env))
    village = next(d.code for d in svc.ctx.config.divisions.by_code.values() if d.level == "village")
    for _ in range(n):
        svc.register_dispute(command(body(village)), CLERK)
    svc.ctx.store.engine.dispose()


def count_rows(db: Path, table: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as c:
        return int(c.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def services_on(env: dict[str, str], *, init: bool = False) -> Any:
    """Services on the database `env` describes, in this process; `init`: migrated and its agencies
    loaded first, as `init-db` does."""
    from router.services import build_services
    from router.settings import load_settings

    settings = load_settings(env)
    if not init:
        return build_services(settings)
    svc = build_services(settings, check_schema=False)
    svc.migrate()
    svc.sync_agencies()
    return svc
