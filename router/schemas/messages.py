"""Validation messages in Chinese: marshmallow's stock messages translated, and nested messages
flattened to dotted field paths ("parties.0.id_number"). The API's error bodies, the web forms'
messages beside each field and the command line all use these."""

from __future__ import annotations

import re
from typing import Any

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
    "Must not be before `from`.": "结束日期不能早于开始日期。",
    "Must not contain a NUL character.": "不能包含空字符（NUL）。",
    "Not valid Unicode text (a lone surrogate).": "不是有效的 Unicode 文本（含孤立的代理项）。",
    "Nested deeper than 32 levels.": "JSON 嵌套过深（最多 32 层）。",
    "Must not be blank.": "不能为空白。",
    "Must be one line of visible text.": "须为一行可见文字，不能含换行、控制或不可见的格式字符。",
    "Must not contain direction override characters.": "不能包含文字方向控制字符。",
}
_ZH_PATTERNS = [  # most specific first: fullmatch with greedy groups
    (re.compile(r"A report covers at most (\d+) days\."), r"一次统计的期间不能超过 \1 天。"),
    (re.compile(r"Must be greater than or equal to (.*) and less than or equal to (.*)\."),
     r"必须介于 \1 与 \2 之间。"),
    (re.compile(r"Must be one of: (.*)\."), r"必须是以下之一：\1。"),
    (re.compile(r"Must be greater than or equal to (.*)\."), r"必须大于或等于 \1。"),
    (re.compile(r"Must be less than or equal to (.*)\."), r"必须小于或等于 \1。"),
    (re.compile(r"Shorter than minimum length (\d+)\."), r"长度不能少于 \1。"),
    (re.compile(r"Longer than maximum length (\d+)\."), r"长度不能超过 \1。"),
    (re.compile(r"Length must be between (\d+) and (\d+)\."), r"长度必须在 \1 到 \2 之间。"),
]


def localise(message: Any, zh: bool) -> str:
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
