"""A copy of the embedded database taken while the service runs, and a copy put back
(README "Backups").

SQLite's online backup copies the database page by page under its own locking, so writers carry
on between steps and the copy is one consistent moment. The copy is written beside its name and
renamed when complete: a backup stopped halfway leaves no file that looks whole. PostgreSQL has
its own tools (pg_dump, or base backups with WAL archiving), which this module does not imitate.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine


def copy_sqlite(source: Path, target: Path, progress: Callable[[int, int], None] | None = None) -> None:
    """`source` copied to `target` (replaced when complete); `progress(copied pages, total pages)`.
    In one step: a backup done in several restarts whenever another connection writes between two
    of them, so under steady writes a stepped copy of a big database never ends. Under WAL one step
    holds a read transaction only; writers carry on. Raises sqlite3.DatabaseError for a source that
    is not a database, leaving no partial file."""
    part = target.with_name(f".{target.name}.part")
    part.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(part)
            try:
                src.backup(dst, pages=-1,
                           progress=(lambda _status, remaining, total: progress(total - remaining, total))
                           if progress else None)
                problems = dst.execute("PRAGMA integrity_check").fetchone()[0]
                if problems != "ok":
                    raise sqlite3.DatabaseError(f"the copy fails SQLite's integrity check: {problems}")
            finally:
                dst.close()
        finally:
            src.close()
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)


def is_router_database(path: Path) -> bool:
    """Does `path` hold this service's tables (a migrated database), read without changing it?"""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
            names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        return False
    return {"alembic_version", "disputes", "events"} <= names


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of an SQLite engine; None for another database (or one in memory)."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    return Path(engine.url.database)
