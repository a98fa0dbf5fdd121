"""/login, /logout and / (which sends a clerk to the window and a supervisor to the workbench)."""

from __future__ import annotations

from flask import Response, g, redirect, request, url_for

from router.services.accounts import SignInRefused
from router.web.blueprint import web
from router.web.pages import page
from router.web.session import HOME_BY_ROLE, begin, current_user, end, requires, safe_next, svc


@web.get("/")
@requires("clerk", "supervisor", "admin", "follow_up", "grid")
def home() -> Response:
    return redirect(url_for(HOME_BY_ROLE.get(g.user.role, "web.window")))


@web.get("/login")
def login() -> Response:
    if current_user() is not None:
        return redirect(safe_next(request.args.get("next")) or url_for("web.home"))
    return page("login.html", next=safe_next(request.args.get("next")), idle=request.args.get("idle") == "1")


@web.post("/login")
def login_post() -> Response:
    name, password = request.form.get("username", "").strip(), request.form.get("password", "")
    target = safe_next(request.args.get("next"))
    try:
        actor = svc().sign_in(name, password)
    except SignInRefused as e:
        return page("login.html", 401 if e.locked_until is None else 429, error=e.message_zh, username=name,
                    next=target)
    begin(actor)
    return redirect(target or url_for("web.home"), code=303)


@web.post("/logout")
def logout() -> Response:
    end()
    return redirect(url_for("web.login"), code=303)
