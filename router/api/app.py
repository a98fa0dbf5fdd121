"""Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from router.api import agency, disputes, health, reference, reports, routing
from router.api.blueprint import ERRORS, error_name
from router.api.body_limit import over_the_limit
from router.api.errors import error_response, from_domain, from_webargs, wants_chinese
from router.api.json_body import JsonProvider, refused
from router.domain.errors import DomainError
from router.schemas.common import Money
from router.schemas.errors import ErrorOut
from router.schemas.text import pair_problems, text_problems
from router.services import Services
from router.store.db import RETRY_AFTER, unavailable

log = logging.getLogger(__name__)

OPENAPI = {
    "API_TITLE": "dispute-router",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
}


class RouterApi(Api):
    """flask-smorest Api whose errors use the one body of docs/api.md §1, documented once."""

    ERROR_SCHEMA = ErrorOut

    def _register_responses(self) -> None:
        """The error answers as components with our descriptions; endpoints refer to them by name."""
        for status, description in ERRORS.items():
            response = {"description": description, "schema": ErrorOut}
            prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(error_name(status), response)
        response = {"description": "any other error, in the same body", "schema": ErrorOut}
        prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response)

    def handle_http_exception(self, error: HTTPException) -> Response:
        data = getattr(error, "data", None) or {}
        status = error.code or 500
        if "messages" in data:
            return from_webargs(status, data["messages"])
        resp = error_response(status)
        for name, value in error.get_headers():  # a 405's Allow, a 401's WWW-Authenticate
            if name.lower() != "content-type":
                resp.headers[name] = value
        return resp


def create_app(svc: Services) -> Flask:
    app = Flask(__name__, static_folder=None)  # the web blueprint serves its own files
    app.config.update(OPENAPI)
    app.config["MAX_CONTENT_LENGTH"] = svc.settings.max_body_bytes
    app.config["SECRET_KEY"] = svc.settings.secret_key
    app.json = JsonProvider(app)
    app.extensions["router.services"] = svc

    api = RouterApi(app, spec_kwargs={"info": {"description": "一站式矛盾纠纷调解中心：受理、分层、分流、移交与跟踪"}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("agency", {
        "type": "apiKey", "in": "header", "name": "X-Router-Key",
        "description": "Standard Webhooks signing: webhook-id, webhook-timestamp, webhook-signature "
                       "(HMAC-SHA256 with the agency's whsec_ secret, tag v1; HMAC-SM3, tag v1sm3, for an agency "
                       "set to hmac-sm3) plus X-Router-Key naming the key"})
    api.spec.options["security"] = [{"bearer": []}]
    api.register_field(Money, "string", None)  # a decimal string such as "12000.00", not a JSON number
    for bp in (disputes.blp, routing.blp, agency.blp, reference.blp, reports.blp, health.blp):
        api.register_blueprint(bp)
    app.extensions["router.api"] = api

    @app.before_request
    def check_text() -> Response | None:
        """A NUL or a lone surrogate in a path or a query string is refused as in a body (router/schemas/
        text.py): no such id (404), or the parameter named (422). The web pages check their own."""
        if not request.path.startswith("/api/") or request.routing_exception is not None:
            return None  # no such route or method: its 404 or 405 comes first
        if request.view_args and text_problems(request.view_args):
            return error_response(404)
        if request.args and (problems := pair_problems(request.args.items(multi=True))):
            return from_webargs(422, {"query": problems})
        return None

    @app.before_request
    def check_body() -> Response | None:
        if request.method not in ("POST", "PUT", "PATCH") or request.routing_exception is not None:
            return None  # no such route or method: its 404 or 405 comes first
        if over_the_limit(request.environ, svc.settings.max_body_bytes):
            return error_response(413)
        if request.path.startswith("/api/"):
            return refused(request) if request.is_json else error_response(415)
        return None

    @app.errorhandler(DomainError)
    def domain_error(err: DomainError) -> Response:
        return from_domain(err)

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Any:
        if isinstance(err, HTTPException):
            return api.handle_http_exception(err)
        if unavailable(err):  # nothing was done; the same request again shortly will be
            log.warning("database unavailable on %s %s: %s", request.method, request.path, type(err).__name__)
            resp = error_response(503, message="数据库暂不可用，请稍后重试" if wants_chinese() else
                                  "the database is unavailable for a moment; retry shortly")
            resp.headers["Retry-After"] = str(RETRY_AFTER)
            return resp
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)

    return app
