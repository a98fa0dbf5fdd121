"""A stub agency: a real HTTP server on loopback that verifies the router's signatures.

Tests and the demo use it as every agency at once: POST /agencies/<code>/handoffs. It records
each delivery (headers, payload, whether the signature verified) and can be told to answer
slowly, fail with a status, fail the next N requests, or refuse connections.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from router.adapters import signing
from router.services import Services


@dataclass
class Received:
    agency: str
    headers: dict[str, str]
    payload: dict[str, Any]
    verified: bool
    status: int
    at: float


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0
    fail_next: int = 0          # answer `fail_status` to the next N requests, then `status`
    fail_status: int = 503
    retry_after: str | None = None


@dataclass
class StubAgency:
    secrets: dict[str, list[str]] = field(default_factory=dict)   # agency code -> active secrets
    algorithms: dict[str, str] = field(default_factory=dict)      # agency code -> hmac-sha256 | hmac-sm3
    received: list[Received] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)             # Idempotency-Keys being answered
    behaviour: dict[str, Behaviour] = field(default_factory=dict)  # per agency; "*" for all
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    on_received: Callable[[Received], None] | None = None  # called after each accepted, verified delivery

    def behave(self, agency: str = "*", **kw: Any) -> None:
        with self.lock:
            self.behaviour[agency] = Behaviour(**kw)

    def _behaviour(self, agency: str) -> Behaviour:
        return self.behaviour.get(agency) or self.behaviour.get("*") or Behaviour()

    def deliveries(self, agency: str | None = None, *, ok: bool = True) -> list[Received]:
        with self.lock:
            return [r for r in self.received if (agency is None or r.agency == agency)
                    and (not ok or (r.verified and 200 <= r.status < 300))]

    def keys(self) -> list[str]:
        """Idempotency-Keys of the deliveries answered 2xx with a valid signature, repeats included."""
        return [r.headers.get("Idempotency-Key", "") for r in self.deliveries()]

    def start(self, port: int = 0) -> str:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                parts = self.path.strip("/").split("/")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if len(parts) != 3 or parts[0] != "agencies" or parts[2] != "handoffs":
                    self._answer(404, {"error": "unknown path"})
                    return
                agency = parts[1]
                verified = signing.verify(stub.secrets.get(agency, []), self.headers.get("webhook-id", ""),
                                          self.headers.get("webhook-timestamp", ""), body,
                                          self.headers.get("webhook-signature", ""), now=int(time.time()),
                                          algorithm=stub.algorithms.get(agency, signing.HMAC_SHA256))
                with stub.lock:
                    b = stub._behaviour(agency)
                    status = b.status
                    if b.fail_next > 0:
                        b.fail_next -= 1
                        status = b.fail_status
                if not verified:
                    status = 401
                key = self.headers.get("Idempotency-Key", "")
                with stub.lock:
                    stub.in_flight.append(key)
                if b.delay:
                    time.sleep(b.delay)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                rec = Received(agency, dict(self.headers), payload, verified, status, time.time())
                with stub.lock:
                    stub.in_flight.remove(key)
                    stub.received.append(rec)
                extra = {"Retry-After": b.retry_after} if b.retry_after and status in (429, 503) else {}
                self._answer(status, {"received": verified}, extra)
                if stub.on_received is not None and verified and 200 <= status < 300:
                    stub.on_received(rec)

            def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def learn_secrets(self, svc: Services) -> None:
        """Every agency's active signing secrets, so any delivery can be verified."""
        self.secrets.update(svc.agency_secrets())
        self.algorithms.update(svc.agency_signing())

    def serve_all_agencies(self, svc: Services) -> str:
        """Start, point every agency's endpoint here and learn their secrets (tests, benchmarks)."""
        base = self.start()
        svc.point_agencies_at(base + "/agencies/{code}/handoffs")
        self.learn_secrets(svc)
        return base

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
