"""A partner agency's side of the API: signs each call the Standard Webhooks way (docs/agency-guide.md §2).

Tests, the demo and agencies writing their own integration use it as a reference client.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from router.adapters import signing


class AgencyClient:
    def __init__(self, base: str, key_id: str, secret: str, *, now: Callable[[], float] = time.time,
                 http: requests.Session | None = None, algorithm: str = signing.HMAC_SHA256) -> None:
        self.base, self.key_id, self.secret, self.now = base.rstrip("/"), key_id, secret, now
        self.algorithm = algorithm
        self.http = http or requests.Session()

    def signed_headers(self, body: bytes, *, msg_id: str | None = None, timestamp: int | None = None,
                       secrets_: list[str] | None = None) -> dict[str, str]:
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        ts = int(self.now()) if timestamp is None else timestamp
        return {"X-Router-Key": self.key_id, "Content-Type": "application/json",
                **signing.headers(secrets_ or [self.secret], msg_id, ts, body, self.algorithm)}

    def request(self, method: str, path: str, body: Any = None, **sign: Any) -> requests.Response:
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = self.signed_headers(signing.signed_payload(method, path, raw), **sign)
        if body is None:
            headers.pop("Content-Type")
        return self.http.request(method, self.base + path, data=raw or None, headers=headers, timeout=30)

    def pull(self, state: str | None = None) -> requests.Response:
        return self.request("GET", "/api/v1/agency/handoffs" + (f"?state={state}" if state else ""))

    def feed(self, since: int = 0, limit: int = 100) -> requests.Response:
        """Everything made for this agency after cursor `since` (docs/agency-guide.md §4)."""
        return self.request("GET", f"/api/v1/agency/feed?since={since}&limit={limit}")

    def handoff(self, handoff_id: str) -> requests.Response:
        return self.request("GET", f"/api/v1/agency/handoffs/{handoff_id}")

    def event(self, handoff_id: str, type_: str, *, event_id: str | None = None, **fields: Any) -> requests.Response:
        body = {"handoff_id": handoff_id, "event_id": event_id or str(uuid.uuid4()), "type": type_, **fields}
        return self.request("POST", f"/api/v1/agency/handoffs/{handoff_id}/events", body)

    def work_order(self, order: dict[str, Any]) -> requests.Response:
        return self.request("POST", "/api/v1/intake/hotline", order)
