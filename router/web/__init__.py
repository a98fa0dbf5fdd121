"""The web pages for people (docs/architecture.md §9): the intake window (受理窗口) for clerks and the
supervisors' workbench (督办台), server-rendered in Chinese, enhanced with htmx, on the same
services as the JSON API (never HTTP to itself)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from router.services import Services
from router.web import (  # noqa: F401 - each adds its part
    acting,
    dispute,
    duplicates,
    follow_ups,
    grid,
    handover,
    hooks,
    reports,
    signin,
    window,
    workbench,
)
from router.web.blueprint import web
from router.web.pages import install_filters, page
from router.web.session import csrf_refused, init_sessions

__all__ = ["register_web"]


def register_web(app: Flask, svc: Services) -> None:
    init_sessions(app, secure=svc.settings.public_url.startswith("https://"))
    install_filters(app)
    centre = svc.ctx.config.divisions.centre.name

    @app.context_processor
    def centre_title() -> dict[str, Any]:
        return {"centre_title": f"{centre}矛盾纠纷调解中心"}

    app.register_blueprint(web)
    app.register_error_handler(CSRFError, csrf_refused)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def not_a_page(err: HTTPException) -> Response:
        if request.path.startswith(("/api/", "/healthz", "/readyz", "/metrics")):  # the API answers in JSON
            return app.extensions["router.api"].handle_http_exception(err)
        return page("error.html", err.code or 404, title="页面不存在", message="没有这个页面。")

