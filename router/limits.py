"""What the servers refuse before the application sees a request (docs/api.md §1).

The application refuses a body over `ROUTER_MAX_BODY_BYTES` with 413, but by then waitress has read
the whole body (into memory, then a temporary file: a 500 MiB body was spooled to disk before the
refusal), and a keep-alive gunicorn worker drains whatever the application left unread before the
next request on the connection. So:

- waitress is told the limit (`max_request_body_size`): it refuses a Content-Length over it from the
  headers alone and stops reading a chunked body at it. Its own refusals (this 413, a malformed
  request, headers too large) answer in the API's error body, not waitress's plain text.
- gunicorn has no body limit of its own: the application's 413 comes from the headers (Content-Length)
  or from its bounded read of a chunked body, and `pre_request` (loaded with
  `-c python:router.gunicorn_conf`) marks such requests to close their connection after the answer,
  so gunicorn never reads the rest.
"""

from __future__ import annotations

import json
from typing import Any

from waitress import create_server
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

from router.api.errors import CODES

_SERVER_MESSAGES = {  # what waitress itself refuses, in the API's words
    400: ("请求格式错误", "malformed request"),
    413: ("请求体过大", "request body too large"),
    431: ("请求头过大", "request headers too large"),
    501: ("不支持的传输编码", "transfer encoding not implemented"),
}


def _prefers_english(accept_language: str) -> bool:
    first = accept_language.split(",")[0].strip().lower()
    return bool(first) and not first.startswith("zh") and first.startswith("en")


class _JsonErrorTask(ErrorTask):
    """waitress's refusal with the body every endpoint answers: {"error": {"code", "message"}}."""

    def execute(self) -> None:
        e = self.request.error
        zh, en = _SERVER_MESSAGES.get(e.code, (e.reason, e.reason))
        english = _prefers_english(self.request.headers.get("ACCEPT_LANGUAGE", ""))
        body = json.dumps({"error": {"code": CODES.get(e.code, "bad_request"), "message": en if english else zh}},
                          ensure_ascii=False).encode("utf-8")
        self.status = f"{e.code} {e.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Channel(HTTPChannel):
    error_task_class = _JsonErrorTask


def waitress_server(app: Any, *, host: str, port: int, threads: int, max_body: int) -> Any:
    """A waitress server that reads no body over `max_body` bytes."""
    # waitress refuses from `max_request_body_size` up; a body of exactly `max_body` is allowed.
    server = create_server(app, host=host, port=port, threads=threads, ident="dispute-router",
                           max_request_body_size=max_body + 1)
    server.channel_class = _Channel
    return server


def gunicorn_pre_request(worker: Any, req: Any) -> None:
    """Close the connection after a request whose body the application may not read to its end: one
    declared over the limit, or chunked (its size known only as it is read)."""
    limit = worker.wsgi.config.get("MAX_CONTENT_LENGTH")
    declared = next((v for h, v in req.headers if h == "CONTENT-LENGTH"), None)
    chunked = any(h == "TRANSFER-ENCODING" and "chunked" in v.lower() for h, v in req.headers)
    if chunked or (limit is not None and declared is not None and declared.isdigit() and int(declared) > limit):
        req.must_close = True
