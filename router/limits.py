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
from typing import Any

from waitress import create_server
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from router.api.errors import CODES

_SERVER_MESSAGES = {  # what waitress itself refuses, in the API's words
    400: ("请求格式错误", "malformed request"),
    413: ("请求体过大", "request body too large"),
    431: ("请求头过大", "request headers too large"),
    501: ("不支持的传输编码", "transfer encoding not implemented"),
}


def _prefers_english(accept_language: str) -> bool:
    """As the application decides it (api/errors.py `wants_chinese`): zh unless English is preferred."""
    best = parse_accept_header(accept_language, LanguageAccept).best_match(["zh", "zh-CN", "en"], default="zh")
    return not best.lower().startswith("zh")


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

    def send_continue(self) -> None:
        """No "100 Continue" for a request refused from its headers: waitress would send it anyway,
        and mark the request unfinished, so the client sent the body it was about to be refused for."""
        if self.request is not None and self.request.error is not None:
            self.request.expect_continue = False
            return
        super().send_continue()


def waitress_server(app: Any, *, host: str, port: int, threads: int, max_body: int) -> Any:
    """A waitress server that reads no body much over `max_body` bytes."""
    # waitress counts a chunked body's framing too (a body in 256-byte chunks is some 3 % longer on
    # the wire), so it stops a little later, at twice the limit; the application judges the exact
    # size of what waitress took (a Content-Length, or the de-chunked length it sets).
    server = create_server(app, host=host, port=port, threads=threads, ident="dispute-router",
                           max_request_body_size=2 * max_body + 65536)
    server.channel_class = _Channel
    return server


def gunicorn_pre_request(worker: Any, req: Any) -> None:
    """Close the connection after a request whose body the application may not read to its end: one
    declared over the limit, or chunked (its size known only as it is read)."""
    limit = worker.wsgi.config.get("MAX_CONTENT_LENGTH")
    declared = next((v for h, v in req.headers if h == "CONTENT-LENGTH"), None)
    chunked = any(h == "TRANSFER-ENCODING" and "chunked" in v.lower() for h, v in req.headers)
    over = limit is not None and declared is not None and declared.isascii() and declared.isdigit() \
        and int(declared) > limit
    if chunked or over:
        req.must_close = True
    if over and hasattr(req, "_expected_100_continue"):  # gunicorn would invite the body first (wsgi.create)
        req._expected_100_continue = False
