"""One error body for every endpoint (API.md "Errors"), in Chinese unless the client asks otherwise."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify, request

from router.domain.errors import DomainError, NotFound, StateConflict, ValidationError

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


class Msg(str):
    """A field message that carries its Chinese text beside the English one."""

    zh: str

    def __new__(cls, en: str, zh: str) -> Msg:
        obj = super().__new__(cls, en)
        obj.zh = zh
        return obj


# marshmallow's stock messages, translated; patterns cover the ones with parameters.
_ZH_FIXED = {
    "Missing data for required field.": "缺少必填字段。",
    "Unknown field.": "未知字段，不允许提交。",
    "Field may not be null.": "不能为空值。",
    "Not a valid string.": "不是有效的字符串。",
    "Not a valid integer.": "不是有效的整数。",
    "Not a valid number.": "不是有效的数字。",
    "Not a valid date.": "不是有效的日期（格式 YYYY-MM-DD）。",
    "Not a valid datetime.": "不是有效的时间（RFC 3339）。",
    "Not a valid boolean.": "不是有效的布尔值。",
    "Not a valid list.": "不是有效的列表。",
    "Invalid input type.": "输入类型无效。",
    "Invalid value.": "值无效。",
    "Invalid JSON body.": "不是合法的 JSON。",
    "String does not match expected pattern.": "格式不符合要求。",
    "Special numeric values (nan or infinity) are not permitted.": "不允许 NaN 或无穷大。",
    "At most two decimal places.": "金额最多保留两位小数，不会自动舍入。",
}
_ZH_PATTERNS = [  # most specific first: fullmatch with greedy groups
    (re.compile(r"Must be greater than or equal to (.*) and less than or equal to (.*)\."),
     r"必须介于 \1 与 \2 之间。"),
    (re.compile(r"Must be one of: (.*)\."), r"必须是以下之一：\1。"),
    (re.compile(r"Must be greater than or equal to (.*)\."), r"必须大于或等于 \1。"),
    (re.compile(r"Must be less than or equal to (.*)\."), r"必须小于或等于 \1。"),
    (re.compile(r"Shorter than minimum length (\d+)\."), r"长度不能少于 \1。"),
    (re.compile(r"Longer than maximum length (\d+)\."), r"长度不能超过 \1。"),
    (re.compile(r"Length must be between (\d+) and (\d+)\."), r"长度必须在 \1 到 \2 之间。"),
]


def wants_chinese() -> bool:
    """zh-CN unless Accept-Language prefers another language (API.md)."""
    if not request or not request.accept_languages:
        return True
    best = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
    return best.lower().startswith("zh")


def localise(message: Any, zh: bool) -> str:
    if isinstance(message, Msg):
        return message.zh if zh else str(message)
    text = str(message)
    if not zh:
        return text
    if text in _ZH_FIXED:
        return _ZH_FIXED[text]
    for pattern, repl in _ZH_PATTERNS:
        if pattern.fullmatch(text):
            return pattern.sub(repl, text)
    return text


def flatten(messages: Any, zh: bool, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages -> {"parties.0.id_number": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for k, v in messages.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if k == "_schema":
                key = prefix or "_schema"
            for kk, vv in flatten(v, zh, key).items():
                out.setdefault(kk, []).extend(vv)
    elif isinstance(messages, list | tuple):
        if all(not isinstance(m, dict | list | tuple) for m in messages):
            out[prefix or "_schema"] = [localise(m, zh) for m in messages]
        else:
            for m in messages:
                for kk, vv in flatten(m, zh, prefix).items():
                    out.setdefault(kk, []).extend(vv)
    else:
        out[prefix or "_schema"] = [localise(messages, zh)]
    return out


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
        return error_response(404, message=message)
    return error_response(422, message=message, fields=fields)
