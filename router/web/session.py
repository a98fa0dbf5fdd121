"""Signing in to the web pages: a session cookie for the same users as the API's tokens.

The cookie is Flask's signed session (HttpOnly, SameSite=Lax, Secure when the request came over
https) holding only the id of a session kept on the server (services/web_sessions.py), so signing
out, the idle timeout or a password change ends the session itself. Every form is
CSRF-protected by Flask-WTF; htmx sends the token in a header. A role that may not open a page gets
the Chinese 403 page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect

from router.services import Actor, Services
from router.web.pages import page

F = TypeVar("F", bound=Callable[..., Any])
csrf = CSRFProtect()
HOME_BY_ROLE = {"clerk": "web.window", "supervisor": "web.supervise", "admin": "web.supervise",
                "follow_up": "web.follow_ups", "grid": "web.grid"}


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure whenever the request itself came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_sessions(app: Flask, *, secure: bool = False) -> None:
    """`secure`: the service is published over https (ROUTER_PUBLIC_URL), so the cookie is Secure even
    when a proxy in front of it speaks plain http to it."""
    app.session_interface = SessionInterface()
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_NAME="router_session",
                      WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None,
                      WTF_CSRF_HEADERS=["X-CSRFToken", "X-CSRF-Token"])
    csrf.init_app(app)


def svc() -> Services:
    return current_app.extensions["router.services"]


def _wall() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)


def begin(actor: Actor) -> None:
    """A new session for a sign-in: a new id (no fixation), nothing of the old one kept."""
    old = session.get("sid")
    session.clear()
    if old:
        svc().close_web_session(old, _wall())
    session["sid"] = svc().open_web_session(actor, _wall())


def end() -> None:
    sid = session.pop("sid", None)
    session.clear()
    if sid:
        svc().close_web_session(sid, _wall())


def current_user() -> Actor | None:
    """The signed-in user, or None (never signed in, signed out, idle too long, password changed).
    A background refresh (an htmx GET) does not count as the user's activity."""
    sid = session.get("sid")
    if not sid:
        return None
    active = not (request.method == "GET" and request.headers.get("HX-Request") == "true")
    result = svc().check_web_session(sid, _wall(), active=active)
    if result.actor is None:
        session.clear()
        g.signed_out_idle = result.idle
    return result.actor


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: a sign-in link must not send anyone elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


def requires(*roles: str) -> Callable[[F], F]:
    """Sign-in required (redirect to /login, back here after), and one of `roles` (else the 403 page)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            actor = current_user()
            if actor is None:
                target = url_for("web.login", next=request.full_path.rstrip("?") if request.method == "GET" else None,
                                 idle=1 if g.get("signed_out_idle") else None)
                if request.headers.get("HX-Request") == "true":  # htmx: the whole page goes to sign-in
                    return Response(status=204, headers={"HX-Redirect": target})
                return redirect(target)
            g.user = actor
            if actor.role not in roles:
                return forbidden()
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def forbidden() -> Response:
    return page("error.html", 403, title="无权访问", message="您的角色不能打开此页面。")


def csrf_refused(err: CSRFError) -> Response:
    return page("error.html", 400, title="表单已失效", message="表单校验失败（CSRF），请刷新页面后重新提交。")
