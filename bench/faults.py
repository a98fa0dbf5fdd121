"""The soak's processes and the faults done to them (bench/soak.py).

Each `dispute-router` process runs as a service manager would keep it: restarted a second after it
dies (systemd's Restart=always, RestartSec=1). The faults are the real ones: SIGKILL of a process,
RabbitMQ's application stopped and started (every connection dropped, durable queues kept), and a
PostgreSQL restart in fast mode (every session ended, in-flight transactions rolled back).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESTART_SECONDS = 1.0


class Supervised:
    """One process, restarted when it dies; `kill()` is the fault."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.stopping = False
        self._watch = threading.Thread(target=self._keep, daemon=True, name=f"keep-{name}")

    def start(self) -> Supervised:
        self._spawn()
        self._watch.start()
        return self

    def _spawn(self) -> None:
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def _keep(self) -> None:
        while not self.stopping:
            if self.proc is not None and self.proc.poll() is not None and not self.stopping:
                time.sleep(RESTART_SECONDS)
                if not self.stopping:
                    self.restarts += 1
                    self._spawn()
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)

    def children(self) -> list[int]:
        """The process's children (a gunicorn master's workers), from /proc."""
        if self.proc is None:
            return []
        out: list[int] = []
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
                out += [int(c) for c in (task / "children").read_text().split()]
        return out

    def stop(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def router_process(name: str, env: dict[str, str], *args: str) -> Supervised:
    return Supervised(name, [sys.executable, "-m", "router.cli", *args], {**os.environ, **env})


def gunicorn_process(env: dict[str, str], port: int, workers: int) -> Supervised:
    return Supervised("api", [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                              "--chdir", str(ROOT), "--log-level", "error", "--graceful-timeout", "5",
                              "router.wsgi:app"], {**os.environ, **env, "ROUTER_LOG_LEVEL": "ERROR"})


def _run(*argv: str) -> None:
    subprocess.run(list(argv), check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=180)


def restart_rabbitmq(down_seconds: float = 3.0) -> None:
    """The broker goes away and comes back: its connections are dropped, its durable queues kept."""
    _run("rabbitmqctl", "stop_app")
    time.sleep(down_seconds)
    _run("rabbitmqctl", "start_app")


def restart_postgresql() -> None:
    """Every session ended, in-flight transactions rolled back, then the server back (fast mode)."""
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        raise SystemExit("no local PostgreSQL cluster to restart (/etc/postgresql is empty)")
    _run("pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart", "-m", "fast")
    for _ in range(60):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0:
            return
        time.sleep(0.5)


class Faults:
    """The fault plan: (seconds after the start, name, what to do)."""

    def __init__(self, procs: dict[str, Supervised], only: set[str] | None = None) -> None:
        self.procs, self.only = procs, only
        self.done: list[tuple[str, float, float]] = []  # (fault, when it began, how long the act took)

    def plan(self, seconds: float) -> list[tuple[float, str, Any]]:
        acts = [("kill -9 a delivery worker", lambda: self.procs["worker-1"].kill()),
                ("kill -9 the relay", lambda: self.procs["relay"].kill()),
                ("kill -9 the scheduler", lambda: self.procs["scheduler"].kill()),
                ("kill -9 an API process", self._kill_api_worker),
                ("restart RabbitMQ", restart_rabbitmq),
                ("restart PostgreSQL", restart_postgresql)]
        if self.only:
            acts = [(name, act) for name, act in acts if any(word in name for word in self.only)]
        step = seconds / (len(acts) + 1)
        return [(step * (i + 1) - step / 2, name, act) for i, (name, act) in enumerate(acts)]

    def _kill_api_worker(self) -> None:
        workers = self.procs["api"].children()
        if workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(workers[0], signal.SIGKILL)
        else:
            self.procs["api"].kill()

    def run(self, start: float, seconds: float, stop: threading.Event) -> None:
        for at, name, act in self.plan(seconds):
            if stop.wait(max(0.0, start + at - time.time())):
                return
            began = time.time()
            act()
            self.done.append((name, began, time.time() - began))
