"""gunicorn settings for `router.wsgi:app` (`gunicorn -c python:router.gunicorn_conf router.wsgi:app`,
as `dispute-router serve --processes N` runs it): the body limit's hook (router/limits.py)."""

from router.limits import gunicorn_pre_request as pre_request

__all__ = ["pre_request"]
