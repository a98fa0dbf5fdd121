"""A copy of the embedded database taken while the service runs, and a copy put back
(README "Backups").

SQLite's online backup copies the database page by page under its own locking, so writers carry
on between steps and the copy is one consistent moment. The copy is written beside its name and
renamed when complete: a backup stopped halfway leaves no file that looks whole. PostgreSQL has
its own tools (pg_dump, or base backups with WAL archiving), which this module does not imitate.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

PAGES_PER_STEP = 1024  # about 4 MiB at SQLite's default page size: writers wait at most one step


def copy_sqlite(source: Path, target: Path, progress: Callable[[int, int], None] | None = None) -> None:
    """`source` copied to `target` (replaced when complete); `progress(copied pages, total pages)`."""
    part = target.with_name(f".{target.name}.part")
    part.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(part)
        try:
            src.backup(dst, pages=PAGES_PER_STEP,
                       progress=(lambda _status, remaining, total: progress(total - remaining, total))
                       if progress else None)
            problems = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if problems != "ok":
                raise RuntimeError(f"the copy fails SQLite's integrity check: {problems}")
        finally:
            dst.close()
    finally:
        src.close()
    part.replace(target)


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of an SQLite engine; None for another database (or one in memory)."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    return Path(engine.url.database)
