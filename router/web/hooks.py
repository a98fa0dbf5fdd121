"""What every web page shares: CSRF on every POST, and errors as Chinese pages, not JSON."""

from __future__ import annotations

import logging

from flask import Response, request
from werkzeug.exceptions import HTTPException

from router.domain.errors import NotFound
from router.web.blueprint import web
from router.web.pages import page
from router.web.session import csrf

log = logging.getLogger(__name__)


@web.before_request
def protect() -> None:
    if request.method == "POST":
        csrf.protect()


@web.after_request
def harden(resp: Response) -> Response:
    """No framing by other sites (clickjacking the action dialogs), no MIME sniffing, no Referer
    leaving the site, and pages with personal data never cached."""
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Content-Security-Policy",
                            "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if resp.mimetype == "text/html":
        resp.headers["Cache-Control"] = "no-store"
    return resp


@web.errorhandler(NotFound)
def not_found(err: NotFound) -> Response:
    return page("error.html", 404, title="纠纷不存在" if "纠纷" in err.message_zh else "找不到",
                message=f"{err.message_zh}，或您无权查看。")


@web.errorhandler(Exception)
def broken(err: Exception) -> Response:
    if isinstance(err, HTTPException):
        return page("error.html", err.code or 500, title="请求有误", message=err.description or "")
    log.exception("unhandled error on %s %s", request.method, request.path)
    return page("error.html", 500, title="系统出错", message="系统出错，请稍后重试；如反复出现请联系管理员。")
