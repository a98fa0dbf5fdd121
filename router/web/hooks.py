"""What every web page shares: CSRF on every POST, and errors as Chinese pages, not JSON."""

from __future__ import annotations

import logging

from flask import Response, request
from werkzeug.exceptions import HTTPException

from router.domain.errors import NotFound
from router.schemas.text import pair_problems
from router.store.db import RETRY_AFTER, unavailable
from router.web.blueprint import web
from router.web.pages import page
from router.web.session import csrf

log = logging.getLogger(__name__)


# The intake forms say a NUL beside its field themselves (forms.py); every other form, query string
# and path is refused whole before a view reads it, as the API refuses it (router/schemas/text.py).
_PLACES_ITS_OWN = frozenset({"web.window_post", "web.grid_post"})


@web.before_request
def protect() -> Response | None:
    if request.method == "POST":
        csrf.protect()
    pairs = [*request.args.items(multi=True), *(request.view_args or {}).items()]
    if request.method == "POST" and request.endpoint not in _PLACES_ITS_OWN:
        pairs += request.form.items(multi=True)
    if pair_problems(pairs):
        return page("error.html", 422, title="请求有误",
                    message="输入中含有不允许的字符：不能包含空字符（NUL）或无效的 Unicode 字符，请删除后重试。")
    return None


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
    if unavailable(err):  # nothing was done: the same form again shortly will work
        log.warning("database unavailable on %s %s: %s", request.method, request.path, type(err).__name__)
        resp = page("error.html", 503, title="系统繁忙",
                    message="数据库暂时不可用，请稍后重新提交；刚才的操作没有生效。")
        resp.headers["Retry-After"] = str(RETRY_AFTER)
        return resp
    log.exception("unhandled error on %s %s", request.method, request.path)
    return page("error.html", 500, title="系统出错", message="系统出错，请稍后重试；如反复出现请联系管理员。")
