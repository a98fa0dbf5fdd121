"""Serving: the WSGI application and the embedded-default process (docs/architecture.md §8).

The command line starts the service through here, so it never reaches into the HTTP layer itself.
On the embedded default (in-process broker) the relay, sweeper, scheduler and delivery workers run
as threads beside the web server; with RabbitMQ they are their own processes unless asked here too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from flask import Flask
from waitress import create_server

from router.api.app import create_app
from router.api.openapi import render
from router.messaging.topology import is_amqp
from router.messaging.worker import Background
from router.services import Services
from router.web import register_web


def application(svc: Services) -> Flask:
    """The JSON API and the web pages on one app."""
    app = create_app(svc)
    register_web(app, svc)
    return app


def openapi_document(svc: Services) -> str:
    return render(application(svc))


def serve(svc: Services, host: str, port: int, *, threads: int = 8, workers: int = 2, with_workers: bool = False,
          announce: Callable[[str], None] = print) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    server = create_server(application(svc), host=host, port=port, threads=threads, ident="dispute-router")
    background = None
    if not is_amqp(svc.settings.broker_url) or with_workers:
        background = Background(svc, workers=workers).start()
    s = svc.settings
    announce(f"dispute-router serving on http://{host}:{server.effective_port}/ (database "
             f"{s.database_url.split('://')[0]}, broker {s.broker_url.split('://')[0]}"
             f"{', delivery in-process' if background else ''}); Ctrl-C stops it")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    finally:
        if background:
            background.close()
