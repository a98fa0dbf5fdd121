"""Engine creation: SQLite tuned for durability (WAL, synchronous=FULL), PostgreSQL via psycopg 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

RETRY_AFTER = 2  # seconds, on the 503 of a database that went away


def unavailable(err: BaseException) -> bool:
    """The database went away (restarted, failed over, the network between): the request did not
    happen (its transaction rolled back) and the same request later will work, so callers answer 503
    with Retry-After, not 500. The pool, pinging before each checkout, reconnects by itself."""
    return isinstance(err, OperationalError | InterfaceError) or (
        isinstance(err, DBAPIError) and err.connection_invalidated)


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    # A database error's text names its statement's parameters unless told not to: a summary, a
    # party's name, in the log line of whatever failed.
    kwargs.setdefault("hide_parameters", True)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "before_cursor_execute", _sqlite_write_late)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Take over transaction control from the sqlite3 module so BEGIN IMMEDIATE is ours to issue.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")   # a committed dispute survives a power cut
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers queue on the database lock up front instead of failing on lock upgrade mid-transaction;
    # readers (execution option router_readonly) take no write lock and run beside writers under WAL.
    # A unit of work that writes late (router_write_late, store/store.py) begins at its first write;
    # a lone statement (AUTOCOMMIT, Store.fetch_one) needs no transaction.
    options = conn.get_execution_options()
    if options.get("router_write_late") is None and options.get("isolation_level") != "AUTOCOMMIT":
        conn.exec_driver_sql("BEGIN" if options.get("router_readonly") else "BEGIN IMMEDIATE")


class WriteLate:
    """A SQLite transaction that reads without a snapshot (each read sees the latest commit) and takes
    the write lock at its first statement that is not a SELECT: for work whose reads tolerate a
    newer commit, so that its computing does not hold other writers up (docs/architecture.md §3)."""

    def __init__(self, lock: Any) -> None:
        self._lock, self.writing = lock, False

    def begin(self, cursor: Any) -> None:
        self._lock()
        cursor.execute("BEGIN IMMEDIATE")
        self.writing = True


def _sqlite_write_late(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    late = conn.get_execution_options().get("router_write_late")
    if late is not None and not late.writing and statement.lstrip()[:6].upper() != "SELECT":
        late.begin(cursor)
