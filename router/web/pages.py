"""Rendering: a whole page, or for an htmx request only the block it asked for (jinja2-fragments),
and the filters templates use to speak Chinese (local times, state and body names, SLA labels)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, Response, current_app, make_response, render_template, request
from jinja2_fragments.flask import render_block

from router.services.zh import NAMES, local_time, name_filters

SLA_ZH = {"on_time": "正常", "warned": "临期", "overdue": "超期", "breached": "已超时"}
STAFF_ROLE_ZH = {"clerk": "受理窗口", "supervisor": "督办", "admin": "管理员", "follow_up": "回访", "grid": "网格员"}
FEATURE_ZH = {"title_dispute": "房屋宅基地权属争议（确权）", "fight_injury": "因打架斗殴致伤"}


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def page(template: str, status: int = 200, **context: Any) -> Response:
    resp = make_response(render_template(template, **context), status)
    resp.headers["Cache-Control"] = "no-store"  # pages show personal data: never from a shared cache
    return resp


def fragment(template: str, block: str, status: int = 200, headers: dict[str, str] | None = None,
             **context: Any) -> Response:
    """One block of a page, for htmx to swap in."""
    resp = make_response(render_block(template, block, **context), status)
    resp.headers["Cache-Control"] = "no-store"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def page_or_fragment(template: str, block: str, status: int = 200, **context: Any) -> Response:
    return fragment(template, block, status, **context) if is_htmx() else page(template, status, **context)


def local(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as Beijing wall-clock time."""
    return local_time(value, current_app.extensions["router.services"].ctx.config.calendar.tz, fmt)


def day(value: str | date | None) -> str:
    if not value:
        return ""
    d = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{d.year}年{d.month}月{d.day}日"


def install_filters(app: Flask) -> None:
    app.jinja_env.filters.update(name_filters({**NAMES, "sla": SLA_ZH, "staff_role": STAFF_ROLE_ZH}))
    app.jinja_env.filters["local"] = local
    app.jinja_env.filters["day"] = day
