"""Past capacity (issue 14, item 2): with every thread busy and the queue full, waitress's IO thread
answers the next request 503 with Retry-After at once, keeps its connection but reads nothing more
on it for Retry-After seconds, and answers /healthz itself, so a liveness probe never waits for a
thread. Deterministic: the one thread is held on an event, not timed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from router.limits import waitress_server


def _app(release: threading.Event, served: list[str]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        served.append(f"{path}@{threading.current_thread().name}")
        if path != "/healthz":
            release.wait(30)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    return app


@contextmanager
def _server(release: threading.Event, served: list[str]) -> Iterator[tuple[int, Any]]:
    server = waitress_server(_app(release, served), host="127.0.0.1", port=0, threads=1, max_body=1024,
                             max_queued=2)
    threading.Thread(target=server.run, daemon=True, name="io").start()
    try:
        yield server.effective_port, server
    finally:
        release.set()
        server.close()


def _send(port: int, path: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return s


def _answer(s: socket.socket) -> tuple[str, dict[str, str], bytes]:
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += s.recv(4096)
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    while len(rest) < int(headers.get("content-length", 0)):
        rest += s.recv(4096)
    return lines[0], headers, rest


def _until(done: Any, what: str) -> None:
    """Wait for the server's own progress (polled, no clock in the assertion)."""
    for _ in range(1000):
        if done():
            return
        threading.Event().wait(0.01)
    raise AssertionError(what)


def test_past_the_queue_the_io_thread_sheds_and_answers_the_probe():
    release, served = threading.Event(), []
    with _server(release, served) as (port, server):
        held = _send(port, "/api/held")
        _until(lambda: served, "the held request is served")  # the only thread is busy now
        waiting = [_send(port, f"/api/queued-{i}") for i in range(2)]  # the queue holds two
        _until(lambda: len(server.task_dispatcher.queue) == 2, "two requests queued")
        shed = _send(port, "/api/one-too-many")
        status, headers, body = _answer(shed)
        assert status.startswith("HTTP/1.1 503")
        assert headers["retry-after"] == "2" and headers["content-type"] == "application/json"
        assert json.loads(body)["error"]["code"] == "unavailable"
        assert "connection" not in headers or headers["connection"].lower() != "close"
        r = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)  # no thread is free: the IO thread answers
        assert r.status_code == 200 and "/healthz@io" in served
        release.set()
        for s in (held, *waiting):
            assert _answer(s)[0].startswith("HTTP/1.1 200")
        assert not any("one-too-many" in x for x in served)  # the shed request did no work
        for s in (held, *waiting, shed):
            s.close()


def test_within_the_queue_nothing_is_shed():
    release, served = threading.Event(), []
    with _server(release, served) as (port, _server_):
        held = _send(port, "/api/held")
        _until(lambda: served, "the held request is served")
        waiting = [_send(port, f"/api/queued-{i}") for i in range(2)]
        release.set()
        for s in (held, *waiting):
            assert _answer(s)[0].startswith("HTTP/1.1 200")
            s.close()


def test_a_connect_burst_is_taken_from_the_backlog_in_one_turn():
    """waitress takes one connection per turn of its loop, each turn polling every open connection;
    when 1,500 clients connect at once a health probe behind them waited seconds in the backlog. The
    IO thread now takes every waiting connection at each turn (router/limits.py _accept_waiting)."""
    server = waitress_server(_app(threading.Event(), []), host="127.0.0.1", port=0, threads=1, max_body=1024)
    clients = [socket.create_connection(("127.0.0.1", server.effective_port), timeout=5) for _ in range(40)]
    try:
        before = len(server._map)
        server.handle_accept()  # what one turn of the loop does when the listening socket is readable
        assert len(server._map) - before == 40
        server.handle_accept()  # the backlog is empty: nothing more, no error
        assert len(server._map) - before == 40
    finally:
        for c in clients:
            c.close()
        server.close()
