"""The web pages' blueprint: templates and static files live beside it."""

from __future__ import annotations

from flask import Blueprint

web = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")
