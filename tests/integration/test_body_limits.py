"""A body over the limit is refused before it is read, on every serving path (router/limits.py).

Regression of the outside probe (issue 14, item 1): waitress kept its 1 GiB default and spooled a
500 MiB chunked body to disk before the application's 413; a keep-alive gunicorn worker drains
whatever the application left unread. Over raw sockets, so the client can see how much the server
read: it sends until the server answers or stops taking bytes."""

from __future__ import annotations

import json
import select
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from router.limits import waitress_server
from router.server import application
from tests.builders import body
from tests.serving import prepared, serve, wait_healthy

GIB = 1 << 30
PLENTY = 64 << 20  # what a client would send if nobody stopped it
BOUND = 16 << 20  # the limit, plus what the two kernels' socket buffers may hold


def _head(port: int, path: str, token: str, extra: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Authorization: Bearer {token}\r\n{extra}\r\n").encode())
    return s


def _answer(s: socket.socket, wait: float = 10) -> tuple[int, dict[str, Any], bool]:
    """(status, JSON body, whether the server then closed the connection)."""
    s.settimeout(wait)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(v) for k, _, v in (h.partition(": ") for h in lines[1:]) if k.lower() == "content-length")
    while len(rest) < length:
        rest += s.recv(65536)
    closed = False
    s.settimeout(3)
    try:
        closed = s.recv(65536) == b""
    except TimeoutError:
        closed = False
    except OSError:  # reset: closed too
        closed = True
    return int(lines[0].split()[1]), json.loads(rest[:length]), closed


def _chunked(s: socket.socket) -> int:
    """Stream a chunked body until the server answers or stops reading; how many bytes went out."""
    piece = b"[" + b"1," * 32767 + b"1]"
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent = 0
    try:
        while sent < PLENTY:
            if select.select([s], [], [], 0)[0]:
                break  # the answer is in
            s.sendall(frame)
            sent += len(frame)
    except OSError:  # reset or broken pipe: the server closed without reading the rest
        pass
    return sent


def _check_refusals(port: int, token: str, path: str = "/api/v1/disputes") -> None:
    s = _head(port, path, token, f"Content-Length: {10 * GIB}\r\n")
    status, answer, closed = _answer(s)
    assert status == 413 and answer["error"]["code"] == "payload_too_large", answer
    assert closed, "the connection stays open: the server would go on to read the 10 GiB"
    s.close()

    s = _head(port, path, token, "Transfer-Encoding: chunked\r\n")
    sent = _chunked(s)
    status, answer, _ = _answer(s)
    assert status == 413 and answer["error"]["code"] == "payload_too_large", answer
    assert sent < BOUND, f"{sent} bytes read before the refusal"
    s.close()


def test_waitress_refuses_on_the_headers_and_stops_reading_a_chunked_body(svc, tokens):
    server = waitress_server(application(svc), host="127.0.0.1", port=0, threads=2,
                             max_body=svc.settings.max_body_bytes)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        port = server.effective_port
        _check_refusals(port, tokens["clerk"])
        # A body of exactly the limit is still the application's to judge (here: not valid JSON).
        s = _head(port, "/api/v1/disputes", tokens["clerk"], f"Content-Length: {svc.settings.max_body_bytes}\r\n")
        s.sendall(b" " * svc.settings.max_body_bytes)
        status, answer, _ = _answer(s)
        assert status == 400, answer
        s.close()
        # waitress's other refusals answer in the API's body too, in English when asked.
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"POST /api/v1/disputes HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\n"
                  b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n")
        status, answer, _ = _answer(s)
        assert status == 400 and answer == {"error": {"code": "bad_request", "message": "malformed request"}}
        s.close()
    finally:
        server.close()


@pytest.fixture(scope="module")
def processes(tmp_path_factory: Any) -> Iterator[tuple[int, str, str]]:
    """`serve --processes 2` (gunicorn, gthread, keep-alive) on its own SQLite file: (port, a clerk's
    token, a village)."""
    env, token = prepared(tmp_path_factory.mktemp("limits"))
    proc, port = serve(env, "--processes", "2", "--threads", "4")
    try:
        wait_healthy(port)
        from router.settings import load_settings
        village = next(d.code for d in load_settings(env).domain.divisions.by_code.values() if d.level == "village")
        yield port, token, village
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="gunicorn serves on Linux and macOS")
def test_the_multi_process_server_refuses_without_reading_the_rest(processes):
    port, token, village = processes
    _check_refusals(port, token)
    # and a body within the limit on a kept-alive connection still works
    with requests.Session() as http:
        for _ in range(2):
            r = http.post(f"http://127.0.0.1:{port}/api/v1/disputes", json=body(village),
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert r.status_code == 201, r.text
