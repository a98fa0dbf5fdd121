"""One error body for every endpoint (docs/api.md §1), in Chinese unless the client asks otherwise."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from router.domain.errors import DomainError, NotFound, StateConflict, ValidationError
from router.schemas.messages import flatten, localise

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "state_conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
         429: "too_many_requests", 500: "internal_error", 503: "unavailable"}

MESSAGES = {
    400: ("请求格式错误：不是合法的 JSON", "malformed request: the body is not valid JSON"),
    401: ("未认证：缺少或无效的凭证", "no or invalid credentials"),
    403: ("无权执行该操作", "your role is not allowed to do this"),
    404: ("资源不存在", "not found"),
    405: ("不支持该请求方法", "method not allowed"),
    409: ("与当前状态冲突", "conflicts with the current state"),
    413: ("请求体过大", "request body too large"),
    415: ("请求体必须是 JSON（Content-Type: application/json）",
          "the body must be JSON (Content-Type: application/json)"),
    422: ("提交的数据有误，请按字段提示修改", "the request has invalid fields"),
    500: ("服务器内部错误", "internal server error"),
    503: ("服务暂不可用", "service unavailable"),
}


def wants_chinese() -> bool:
    """zh-CN unless Accept-Language prefers another language (docs/api.md §1)."""
    if not request or not request.accept_languages:
        return True
    best = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
    return best.lower().startswith("zh")


def error_response(status: int, *, message: str | None = None, fields: dict[str, list[str]] | None = None,
                   code: str | None = None, extra: dict[str, Any] | None = None) -> Response:
    zh = wants_chinese()
    default = MESSAGES.get(status, MESSAGES[500])
    body: dict[str, Any] = {"code": code or CODES.get(status, "error"),
                            "message": message or (default[0] if zh else default[1])}
    if fields:
        body["fields"] = fields
    if extra:
        body.update(extra)
    resp = jsonify({"error": body})
    resp.status_code = status
    return resp


def unknown_query(view: Any) -> Response | None:
    """A query string on an endpoint that takes none is refused like an unknown field (422), so a
    typo never silently answers as if it had been understood; endpoints with a query schema check
    theirs in that schema."""
    if not request.args:
        return None
    params = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    if any(p.get("in") == "query" for p in params):
        return None
    zh = wants_chinese()
    return error_response(422, fields={k: [localise("Unknown field.", zh)] for k in request.args})


def from_webargs(status: int, messages: Any) -> Response:
    """A webargs/marshmallow parsing failure: strip the location level ('json', 'query')."""
    zh = wants_chinese()
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "headers", "view_args", "form"}:
        merged: dict[str, list[str]] = {}
        for loc, m in messages.items():
            for k, v in flatten(m, zh).items():
                merged.setdefault(k if loc == "json" else (k if k != "_schema" else loc), []).extend(v)
        fields = merged
    else:
        fields = flatten(messages, zh)
    if status == 400:
        return error_response(400, fields={"_body": fields.get("_schema", [MESSAGES[400][0 if zh else 1]])})
    return error_response(status, fields=fields)


def from_domain(err: DomainError) -> Response:
    zh = wants_chinese()
    message = err.message_zh if zh else err.message_en
    fields = None
    if isinstance(err, ValidationError) and err.fields:
        fields = {k: [m[0] if zh else m[1] for m in v] for k, v in err.fields.items()}
    elif err.field:
        fields = {err.field: [message]}
    if isinstance(err, StateConflict):
        return error_response(409, message=message, fields=fields, extra={"state": err.state} if err.state else None)
    if isinstance(err, NotFound):
        return error_response(404, message=message, fields=fields)
    return error_response(422, message=message, fields=fields)
