"""Serving: the WSGI application and the embedded-default process (docs/architecture.md §8).

The command line starts the service through here, so it never reaches into the HTTP layer itself.
On the embedded default (in-process broker) the relay, sweeper, scheduler and delivery workers run
as threads beside the web server; with RabbitMQ they are their own processes unless asked here too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable

from flask import Flask

from router import metrics
from router.api.app import create_app
from router.api.openapi import render
from router.limits import Admission, waitress_server
from router.messaging.topology import is_amqp
from router.messaging.worker import Background
from router.services import Services
from router.web import register_web


def application(svc: Services) -> Flask:
    """The JSON API and the web pages on one app, shedding what waited too long (router/limits.py)."""
    app = create_app(svc)
    register_web(app, svc)
    app.wsgi_app = Admission(app.wsgi_app, svc.settings.max_queue_seconds)  # type: ignore[method-assign]
    return app


def openapi_document(svc: Services) -> str:
    return render(application(svc))


def serve(svc: Services, host: str, port: int, *, threads: int = 8, workers: int = 2, with_workers: bool = False,
          processes: int = 1, announce: Callable[[str], None] = print) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM): one waitress process, or `processes` gunicorn ones."""
    background, shared, unshare = None, None, None
    if processes > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Before any background work counts: every process of this service counts together (an
        # operator's own PROMETHEUS_MULTIPROC_DIR, shared with the host's other processes, wins).
        svc.settings.var_dir.mkdir(parents=True, exist_ok=True)
        shared = tempfile.mkdtemp(prefix="metrics-", dir=svc.settings.var_dir)
        unshare = metrics.share(shared)
    if not is_amqp(svc.settings.broker_url) or with_workers:
        background = Background(svc, workers=workers).start()
    try:
        if processes > 1:
            _serve_processes(svc, host, port, processes, threads, background is not None, announce)
            return
        watcher = svc.watch_readiness()  # /readyz is answered on the IO thread: from what this keeps fresh
        server = waitress_server(application(svc), host=host, port=port, threads=threads,
                                 max_body=svc.settings.max_body_bytes)
        announce(_banner(svc, f"http://{host}:{server.effective_port}/", background is not None))
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        watcher.stop.set()
    finally:
        if background:
            background.close()
        if unshare:
            unshare()
        if shared:
            shutil.rmtree(shared, ignore_errors=True)


def _banner(svc: Services, url: str, delivery_here: bool, web: str = "") -> str:
    s = svc.settings
    return (f"dispute-router serving on {url} ({web}database {s.database_url.split('://')[0]}, broker "
            f"{s.broker_url.split('://')[0]}{', delivery in-process' if delivery_here else ''}); Ctrl-C stops it")


def _serve_processes(svc: Services, host: str, port: int, processes: int, threads: int, delivery_here: bool,
                     announce: Callable[[str], None]) -> None:
    """gunicorn with `processes` web processes on one port (router.wsgi:app), started as a child so that
    no process forks with this one's threads running. The relay, sweeper, scheduler and delivery
    workers stay here, once: the web processes only write the outbox, which the database carries."""
    if sys.platform == "win32":
        raise SystemExit("--processes needs gunicorn, which runs on Linux and macOS; on Windows use one process")
    cmd = [sys.executable, "-m", "gunicorn", "router.wsgi:app", "--config", "python:router.gunicorn_conf",
           "--bind", f"{host}:{port}", "--workers", str(processes),
           "--worker-class", "gthread" if threads > 1 else "sync", "--threads", str(threads),
           "--timeout", "60", "--graceful-timeout", "30", "--keep-alive", "5", "--max-requests", "20000",
           "--max-requests-jitter", "2000", "--log-level", "warning"]
    child = subprocess.Popen(cmd, env=os.environ.copy())
    announce(_banner(svc, f"http://{host}:{port}/", delivery_here,
                     f"gunicorn: {processes} processes x {threads} threads, "))
    asked: list[int] = []  # the signals that told us to stop

    def stop(sig: int, _frame: object) -> None:
        asked.append(sig)
        child.terminate()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.terminate()
            child.wait(35)
    if child.returncode != 0 and not asked:  # it never served (the port taken, a worker failed to boot) or died
        raise SystemExit(f"dispute-router: gunicorn exited with status {child.returncode}; not serving")
