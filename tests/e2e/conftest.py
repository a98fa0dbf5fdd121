"""The web tests' signed-in clients (Flask's test client on the composed app, as `serve` runs it)."""

from __future__ import annotations

from typing import Any

import pytest

from router.server import application
from tests.e2e.web_client import PASSWORD, sign_in
from tests.probes import sent  # noqa: F401 - a fixture, found by name


@pytest.fixture
def web(svc: Any) -> Any:
    """The JSON API and the web pages on one app, as `serve` runs it."""
    return application(svc)


@pytest.fixture
def users(svc: Any) -> dict[str, str]:
    """A clerk and a supervisor who may sign in on the web; their names by role."""
    names = {"clerk": "clerk-web", "supervisor": "supervisor-web"}
    for role, name in names.items():
        svc.add_user(name, role, PASSWORD)
    return names


@pytest.fixture
def clerk(web: Any, users: dict[str, str]) -> Any:
    c = web.test_client()
    assert sign_in(c, users["clerk"]).status_code == 303
    return c


@pytest.fixture
def supervisor(web: Any, users: dict[str, str]) -> Any:
    c = web.test_client()
    assert sign_in(c, users["supervisor"]).status_code == 303
    return c
