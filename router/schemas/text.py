"""What any text taken in may hold, whatever its field: nothing a database or an encoder refuses.

A lone UTF-16 surrogate (JSON's "\\ud800") is no character: encoding it fails, and the failure came
out as a 500 after the row was half-built. A NUL is refused by PostgreSQL's text type (and logged
there with the statement's parameters: the summary, the parties' names). And JSON nested some
thousand levels deep ran Python out of recursion. Each is refused at the door, naming the field,
before any schema or service sees the body."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 32  # no body of this API nests half as deep

NUL = "Must not contain a NUL character."
SURROGATE = "Not valid Unicode text (a lone surrogate)."
TOO_DEEP = f"Nested deeper than {MAX_DEPTH} levels."


MAX_REPORTED = 20  # fields named in one answer: enough to correct a form, bounded for a hostile body


def text_problems(value: Any) -> dict[str, list[str]]:
    """{dotted field path: [message]} for every string in `value` (keys included) that no store can
    hold, at most MAX_REPORTED of them; `{"_body": [TOO_DEEP]}` for a body nested too deep. Empty
    when all is well. Linear in the body: a path is a chain of links, spelled out only when named."""
    out: dict[str, list[str]] = {}
    stack: list[tuple[Any, tuple[Any, ...] | None, int]] = [(value, None, 0)]
    while stack and len(out) < MAX_REPORTED:
        v, link, depth = stack.pop()
        if depth > MAX_DEPTH:
            return {"_body": [TOO_DEEP]}
        if isinstance(v, str):
            if (problem := _bad(v)) is not None:
                out.setdefault(_spelt(link), []).append(problem)
        elif isinstance(v, dict):
            for k, x in v.items():
                if (problem := _bad(str(k))) is not None:
                    out.setdefault(_spelt(link), []).append(problem)
                    continue
                stack.append((x, (link, k), depth + 1))
        elif isinstance(v, list):
            stack.extend((x, (link, i), depth + 1) for i, x in enumerate(v))
    return out


def _spelt(link: tuple[Any, ...] | None) -> str:
    """("parties", 0, "name") from its links ((None, "parties"), 0), "name"), or "_body" for the top."""
    names: list[str] = []
    while link is not None:
        link, name = link
        names.append(str(name))
    return ".".join(reversed(names)) or "_body"


def _bad(s: str) -> str | None:
    if "\x00" in s:
        return NUL
    if s.isascii():
        return None
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE
    return None


def pair_problems(pairs: Any) -> dict[str, list[str]]:
    """text_problems of a query string's or a form's (name, value) pairs, every value of a repeated
    name included (a dict of them would keep one), each named by its name."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        for problem in (_bad(str(name)), _bad(str(value))):
            if problem is not None and len(out) < MAX_REPORTED:
                out.setdefault(str(name) if _bad(str(name)) is None else "_query", []).append(problem)
    return out
