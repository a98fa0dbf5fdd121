"""What the servers refuse before the application sees a request (docs/api.md §1).

The application refuses a body over `ROUTER_MAX_BODY_BYTES` with 413, but by then waitress has read
the whole body (into memory, then a temporary file: a 500 MiB body was spooled to disk before the
refusal), and a keep-alive gunicorn worker drains whatever the application left unread before the
next request on the connection. So:

- waitress is told the limit (`max_request_body_size`, with room for a chunked body's framing): it
  refuses a Content-Length over it from the headers alone (without the "100 Continue" it would send
  first) and stops reading a chunked body there. Its own refusals (413, a malformed request,
  headers too large) answer in the API's error body, not waitress's plain text.
- gunicorn has no body limit of its own: the application's 413 comes from the headers (Content-Length)
  or from its bounded read of a chunked body, and `pre_request` (loaded with
  `-c python:router.gunicorn_conf`) marks such requests to close their connection after the answer,
  so gunicorn never reads the rest.
"""

from __future__ import annotations

import json
import logging
import resource
import time
import types
from typing import Any

from waitress import create_server
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher, WSGITask
from waitress.utilities import Error
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from router.api.body_limit import declared_over
from router.api.errors import CODES
from router.metrics import SHED

PROBES = frozenset({"/healthz", "/readyz"})
QUEUED_SINCE = "router.queued_since"  # the monotonic instant the request was read whole (waitress)

_SERVER_MESSAGES = {  # what waitress itself refuses, in the API's words
    400: ("请求格式错误", "malformed request"),
    413: ("请求体过大", "request body too large"),
    431: ("请求头过大", "request headers too large"),
    501: ("不支持的传输编码", "transfer encoding not implemented"),
}
_BUSY = ("服务繁忙，请稍后重试", "the service is busy; retry shortly")


def _prefers_english(accept_language: str) -> bool:
    """As the application decides it (api/errors.py `wants_chinese`): zh unless English is preferred."""
    best = parse_accept_header(accept_language, LanguageAccept).best_match(["zh", "zh-CN", "en"], default="zh")
    return not best.lower().startswith("zh")


def _error_body(status: int, messages: tuple[str, str], accept_language: str) -> bytes:
    """The body every endpoint answers an error with, made without Flask (api/errors.py makes it there)."""
    message = messages[1] if _prefers_english(accept_language) else messages[0]
    return json.dumps({"error": {"code": CODES.get(status, "bad_request"), "message": message}},
                      ensure_ascii=False).encode("utf-8")


class _Busy(Error):
    """Refused in the IO thread: more requests wait for a thread than the queue holds. `read_whole`:
    its body was read, so the connection can carry on after it; else it closes (what is left of the
    body must never be taken for a request)."""

    code = 503
    reason = "Service Unavailable"

    def __init__(self, read_whole: bool) -> None:
        super().__init__("busy")
        self.read_whole = read_whole


RETRY_AFTER = 2  # seconds, on every 503 of shedding


class _JsonErrorTask(ErrorTask):
    """waitress's refusal with the body every endpoint answers: {"error": {"code", "message"}}."""

    def execute(self) -> None:
        e = self.request.error
        messages = _BUSY if e.code == 503 else _SERVER_MESSAGES.get(e.code, (e.reason, e.reason))
        body = _error_body(e.code, messages, self.request.headers.get("ACCEPT_LANGUAGE", ""))
        self.status = f"{e.code} {e.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        if e.code == 503:
            self.response_headers.append(("Retry-After", str(RETRY_AFTER)))
        if getattr(e, "read_whole", False):
            # Shed: the connection stays open but unread for Retry-After seconds (_Channel.readable),
            # so a client that retries at once on it waits as it was asked to, instead of costing the
            # IO thread another refusal, or a new connection, every millisecond.
            self.channel.cool_until = time.monotonic() + RETRY_AFTER
        else:
            self.set_close_on_finish()
        if getattr(self.request, "command", None) == "HEAD":  # the head only: a body would open the next answer
            self.content_length = 0
            return
        self.content_length = len(body)
        self.write(body)


class _Parser(HTTPRequestParser):
    """A request that notes when it was read whole: the moment it starts to wait for a thread."""

    read_at = 0.0

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.completed and not self.read_at:
            self.read_at = time.monotonic()
        return consumed


class _Task(WSGITask):
    def get_environment(self) -> dict[str, Any]:
        environ = super().get_environment()
        environ.setdefault(QUEUED_SINCE, getattr(self.request, "read_at", 0.0) or time.monotonic())
        return environ


class _Dispatcher(ThreadedTaskDispatcher):
    """waitress's thread pool, bounded, with the probes first.

    A request read by the IO thread (the one thread that accepts and reads every connection) is
    answered there at once when it is a probe (`/healthz`, and `/readyz`, which reads what a
    watcher thread keeps fresh: services/health.py), so both answer within a second under any
    load, and when `max_queued` requests already wait for a thread: 503 with Retry-After, so the
    queue, and with it every waiting client's time, stays bounded. Everything else waits for the
    next free thread."""

    max_queued = 256

    def full(self) -> bool:
        return len(self.queue) >= self.max_queued

    def add_task(self, task: Any) -> None:
        """Called by the IO thread for a connection's first waiting request, and by the thread that
        served one for the next pipelined behind it: either way the caller answers what is left to
        it (`serve_here`) as soon as it lets go of the channel's request lock (_Channel)."""
        waiting = getattr(task, "requests", None)
        first = waiting[0] if waiting else None
        if first is None:
            super().add_task(task)
            return
        if first.error is not None or first.path in PROBES:
            task.serve_here = True  # a refusal (it closes: its body was not read) needs no thread either
            return
            task.serve_here = True
            return
        if self.full():
            SHED.inc()
            first.error = _Busy(read_whole=True)
            task.serve_here = True
            return
        super().add_task(task)


class _Channel(HTTPChannel):
    error_task_class = _JsonErrorTask
    parser_class = _Parser
    task_class = _Task
    serve_here = False  # the dispatcher left the request to the IO thread (see _Dispatcher)
    cool_until = 0.0  # after a 503: not read again before then

    def readable(self) -> bool:
        return (not self.cool_until or time.monotonic() >= self.cool_until) and super().readable()

    def received(self, data: bytes) -> bool:
        """Read as waitress does; then answer here what the dispatcher left here: once the channel's
        request lock (held while reading) is free again, since answering takes it."""
        more = super().received(data)
        if self.serve_here:
            self.serve_here = False
            self.service()
        return more

    def service(self) -> None:
        """Serve the request, then what the dispatcher left to this thread behind it (a pipelined
        /healthz, or one shed because the queue is full), before anything queued."""
        super().service()
        while self.serve_here and self.requests:
            self.serve_here = False
            super().service()
        self.serve_here = False

    def send_continue(self) -> None:
        """No "100 Continue" for a request refused from its headers: waitress would send it anyway,
        and mark the request unfinished, so the client sent the body it was about to be refused for.
        Past capacity the same: it is refused from its headers (and its connection closed), instead
        of inviting a body to answer 503 once it is in."""
        server = getattr(self, "server", None)
        dispatcher = getattr(server, "task_dispatcher", None)
        if (self.request is not None and self.request.error is None and isinstance(dispatcher, _Dispatcher)
                and dispatcher.full()):
            SHED.inc()
            self.request.error = _Busy(read_whole=False)
            self.request.completed = True
        if self.request is not None and self.request.error is not None:
            self.request.expect_continue = False
            return
        super().send_continue()


def waitress_server(app: Any, *, host: str, port: int, threads: int, max_body: int,
                    max_queued: int | None = None, connection_limit: int = 4000) -> Any:
    """A waitress server that reads no body much over `max_body` bytes, holds at most `max_queued`
    requests waiting for a thread (default: four per thread), and takes up to `connection_limit`
    connections: past waitress's default of 100 a client waits in the kernel's backlog unanswered
    (a health probe too), so the connections are taken and the surplus answered 503 instead
    (poll(), not select(): over 1024)."""
    # waitress counts a chunked body's framing too (a body in 256-byte chunks is some 3 % longer on
    # the wire), so it stops a little later, at twice the limit; the application judges the exact
    # size of what waitress took (a Content-Length, or the de-chunked length it sets).
    connection_limit = _descriptors_for(connection_limit)
    dispatcher = _Dispatcher()
    dispatcher.max_queued = max_queued or 4 * threads
    dispatcher.set_thread_count(threads)
    # waitress logs "Task queue depth is N" for every request queued: under load, a line per request.
    # /metrics (router_requests_shed_total) and the shedding say what matters.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = create_server(app, host=host, port=port, threads=threads, ident="dispute-router",
                           max_request_body_size=2 * max_body + 65536, connection_limit=connection_limit,
                           asyncore_use_poll=True, backlog=2048,
                           _dispatcher=dispatcher)  # waitress's own hook for a dispatcher of one's own
    server.channel_class = _Channel
    server.handle_accept = types.MethodType(_accept_waiting, server)
    return server


ACCEPT_BATCH = 256  # connections taken from the kernel's backlog per readiness of the listening socket


def _accept_waiting(server: Any) -> None:
    """Take every connection waiting in the backlog (up to ACCEPT_BATCH and the connection limit),
    not one: waitress takes one per turn of its loop, and each turn polls every open connection, so
    when 1,500 clients connect at once a health probe queued behind them waited its turn for
    seconds. The listening socket is non-blocking: an empty backlog ends the batch at once."""
    for _ in range(ACCEPT_BATCH):
        before = len(server._map)
        if before >= server.adj.connection_limit:
            return
        BaseWSGIServer.handle_accept(server)
        if len(server._map) == before:  # the backlog is empty (or accept failed, logged by waitress)
            return


RESERVED_FDS = 256  # the database, the journal, spooled bodies, logs: what a process opens besides sockets


def _descriptors_for(connections: int) -> int:
    """As many connections as the process may open descriptors for: its soft limit raised toward
    the hard one (a common soft limit is 1024), then `connections` capped below it with a reserve.
    Past it accept() fails, and waitress's loop spins logging the failure."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = connections + RESERVED_FDS
        if soft != resource.RLIM_INFINITY and soft < wanted:
            raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        return connections if soft == resource.RLIM_INFINITY else max(16, min(connections, soft - RESERVED_FDS))
    except (ValueError, OSError):
        return min(connections, 1024 - RESERVED_FDS)


class Admission:
    """WSGI middleware that sheds load instead of queueing it (docs/api.md §1): a request that waited
    longer than `max_wait` seconds for a thread is answered 503 with Retry-After at once, doing no
    work. Its client has likely given up by then: a registration made for it anyway is a duplicate
    when it retries. The wait is known under waitress (router/limits.py stamps it) and, behind a
    proxy that sets `X-Request-Start: t=<seconds>` (nginx: `t=${msec}`), under any server."""

    def __init__(self, app: Any, max_wait: float, retry_after: int = 2) -> None:
        self.app, self.max_wait, self.retry_after = app, max_wait, retry_after

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.max_wait > 0 and environ.get("PATH_INFO") not in PROBES and self._waited(environ) > self.max_wait:
            SHED.inc()
            body = _error_body(503, _BUSY, environ.get("HTTP_ACCEPT_LANGUAGE", ""))
            start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                       ("Content-Length", str(len(body))),
                                                       ("Retry-After", str(self.retry_after))])
            return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]
        return self.app(environ, start_response)

    @staticmethod
    def _waited(environ: dict[str, Any]) -> float:
        since = environ.get(QUEUED_SINCE)
        if since:
            return time.monotonic() - float(since)
        start = environ.get("HTTP_X_REQUEST_START", "")
        if start.startswith("t="):
            try:
                return time.time() - float(start[2:])
            except ValueError:
                return 0.0
        return 0.0


def gunicorn_pre_request(worker: Any, req: Any) -> None:
    """Close the connection after a request whose body the application may not read to its end: one
    declared over the limit, or chunked (its size known only as it is read)."""
    limit = worker.wsgi.config.get("MAX_CONTENT_LENGTH")
    declared = next((v for h, v in req.headers if h == "CONTENT-LENGTH"), None)
    chunked = any(h == "TRANSFER-ENCODING" and "chunked" in v.lower() for h, v in req.headers)
    over = declared_over(declared, limit)
    if chunked or over:
        req.must_close = True
    if over and hasattr(req, "_expected_100_continue"):  # gunicorn would invite the body first (wsgi.create)
        req._expected_100_continue = False
