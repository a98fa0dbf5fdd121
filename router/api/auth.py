"""Staff bearer tokens and roles."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from router.api.errors import error_response, unknown_query
from router.domain.model import StaffRole
from router.services import Actor, Services

F = TypeVar("F", bound=Callable[..., Any])


def services() -> Services:
    return current_app.extensions["router.services"]


def current_actor() -> Actor:
    return g.actor


def require_roles(*roles: str) -> Callable[[F], F]:
    """401 without a valid token, 403 when the user's role is not one of `roles`."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return error_response(401)
            actor = services().authenticate(token.strip())
            if actor is None:
                return error_response(401)
            if actor.role not in roles:
                return error_response(403)
            g.actor = actor
            return unknown_query(view) or view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


# Who may read any dispute: every role but the grid workers, who report and see what they reported.
STAFF = tuple(str(r) for r in StaffRole if r != StaffRole.GRID)
