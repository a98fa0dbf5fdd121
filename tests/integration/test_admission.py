"""Load shed instead of queued (issue 14, item 2): under waitress, a request that waited longer than
ROUTER_MAX_QUEUE_SECONDS for a thread is a 503 with Retry-After, doing no work; the probes go to the
front of the queue; behind a proxy, X-Request-Start says how long a request waited."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import requests

from router.limits import Admission, waitress_server
from router.server import application
from tests.builders import body, county


@contextlib.contextmanager
def _slow_server(svc: Any, monkeypatch: Any, seconds: float, max_queue: float) -> Iterator[str]:
    """waitress with two threads over the app, each registration holding its thread `seconds`; its URL."""
    monkeypatch.setattr(svc.ctx, "settings", replace(svc.ctx.settings, max_queue_seconds=max_queue))
    app = application(svc)
    real = svc.register_dispute

    def slow(*a: Any, **kw: Any) -> Any:
        time.sleep(seconds)
        return real(*a, **kw)

    monkeypatch.setattr(svc, "register_dispute", slow)
    server = waitress_server(app, host="127.0.0.1", port=0, threads=2, max_body=svc.settings.max_body_bytes)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


def test_requests_that_waited_too_long_are_shed_and_do_no_work(svc, tokens, monkeypatch):
    calls: list[int] = []
    answers: list[Any] = []
    with _slow_server(svc, monkeypatch, 1.0, 0.3) as url:
        counted = svc.register_dispute

        def counting(*a: Any, **kw: Any) -> Any:
            calls.append(1)
            return counted(*a, **kw)

        monkeypatch.setattr(svc, "register_dispute", counting)

        def post() -> None:
            answers.append(requests.post(f"{url}/api/v1/disputes", json=body(county(svc)["v"]),
                                         headers={"Authorization": f"Bearer {tokens['clerk']}"}, timeout=30))

        posters = [threading.Thread(target=post) for _ in range(8)]
        for t in posters:
            t.start()
            time.sleep(0.02)
        health = requests.get(f"{url}/healthz", timeout=30)  # queued behind six: goes to the front
        for t in posters:
            t.join(60)
    assert health.status_code == 200
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) >= 2 and statuses.count(503) >= 3, statuses
    assert len(calls) == statuses.count(201)  # a shed request did no work
    shed = next(a for a in answers if a.status_code == 503)
    assert shed.headers["Retry-After"] and shed.json()["error"]["code"] == "unavailable"


def test_behind_a_proxy_the_request_start_header_says_how_long_it_waited():
    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    seen: list[str] = []
    admit = Admission(app, max_wait=1.0)
    fresh = admit({"PATH_INFO": "/api/v1/disputes", "HTTP_X_REQUEST_START": f"t={time.time():.3f}"},
                  lambda status, headers: seen.append(status))
    stale = admit({"PATH_INFO": "/api/v1/disputes", "HTTP_X_REQUEST_START": f"t={time.time() - 5:.3f}"},
                  lambda status, headers: seen.append(status))
    probe = admit({"PATH_INFO": "/healthz", "HTTP_X_REQUEST_START": f"t={time.time() - 5:.3f}"},
                  lambda status, headers: seen.append(status))
    assert list(fresh) == [b"done"] and b"unavailable" in b"".join(stale) and list(probe) == [b"done"]
    assert seen == ["200 OK", "503 Service Unavailable", "200 OK"]


def test_the_probes_are_answered_before_the_queue_behind_them(svc, tokens, monkeypatch):
    """Shedding off, eight slow registrations queued on two threads: /healthz, asked after them, is
    answered at the next free thread, before most of them."""
    done, lock = [], threading.Lock()
    with _slow_server(svc, monkeypatch, 0.5, 0) as url:
        def post() -> None:
            requests.post(f"{url}/api/v1/disputes", json=body(county(svc)["v"]),
                          headers={"Authorization": f"Bearer {tokens['clerk']}"}, timeout=60)
            with lock:
                done.append("post")

        posters = [threading.Thread(target=post) for _ in range(8)]
        for t in posters:
            t.start()
            time.sleep(0.02)
        assert requests.get(f"{url}/healthz", timeout=60).status_code == 200
        with lock:
            done.append("health")
        for t in posters:
            t.join(60)
    assert done.index("health") <= 4, done
