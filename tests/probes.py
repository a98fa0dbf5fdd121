"""What the probes of personal data and of the audit anchors share: a spy on every parameter sent
to the database, and a witness that keeps the anchors POSTed to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import event, update

from router.store.models import Agency


@pytest.fixture
def sent(svc: Any) -> Iterator[list[str]]:
    """Every parameter any statement sent to the database, as text."""
    seen: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append(repr(parameters))

    engine = svc.ctx.store.engine
    event.listen(engine, "before_cursor_execute", spy)
    yield seen
    event.remove(engine, "before_cursor_execute", spy)


def witness() -> tuple[ThreadingHTTPServer, list[dict[str, Any]]]:
    """An outside witness on loopback answering 201: (its server, to shut down; what it was sent)."""
    got: list[dict[str, Any]] = []

    class Witness(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Witness)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got


@pytest.fixture
def sm3_agencies(svc: Any) -> Iterator[None]:
    """Every agency signing with HMAC-SM3 (国密) for the test; back to HMAC-SHA256 after it (the
    agencies outlive one test)."""
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.execute(update(Agency).values(signing="hmac-sm3"))
    yield
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.execute(update(Agency).values(signing="hmac-sha256"))
