"""What the NUL probes of the reviews share: the statements that reach the database with a NUL among
their parameters, the web app, and a signed-in staff client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from router.server import application
from tests.e2e.web_client import PASSWORD, sign_in


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    return False


@pytest.fixture
def nul_to_database(svc: Any) -> Iterator[list[str]]:
    """The statements sent to the database with a NUL among their parameters (PostgreSQL's text type
    refuses those: psycopg raises, the request answers 500)."""
    seen: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if has_nul(parameters):
            seen.append(statement.split("\n")[0][:120])

    engine = svc.ctx.store.engine
    event.listen(engine, "before_cursor_execute", spy)
    yield seen
    event.remove(engine, "before_cursor_execute", spy)


@pytest.fixture
def web(svc: Any) -> Any:
    return application(svc)


def signed_in(web: Any, svc: Any, role: str, suffix: str) -> Any:
    """A test client signed in as a new user with `role`."""
    name = f"{role}-{suffix}"
    svc.add_user(name, role, PASSWORD)
    c = web.test_client()
    assert sign_in(c, name).status_code == 303
    return c
