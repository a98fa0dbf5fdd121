"""`dispute-router backup` and `restore` (README "Backups", docs/api.md §9): the embedded database
copied while serving, put back, and its hash chains checked either way, so a copy is known good
before anyone relies on it. The keys (ROUTER_PII_KEY, ROUTER_SECRET_KEY or their files under
ROUTER_VAR_DIR) are not in the database: a copy without them cannot be read."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from router.domain.errors import ValidationError
from router.services.audit import check_copy
from router.services.context import ServiceContext
from router.store.backup import copy_sqlite, is_router_database, sqlite_path
from router.store.db import make_engine
from router.store.migrate import upgrade
from router.store.store_settings import refuse_other, suite_of

POSTGRES = ("PostgreSQL is backed up with its own tools: `pg_dump --format=custom --file=FILE URL` for "
            "a copy, or base backups with WAL archiving for point-in-time recovery; after `pg_restore`, "
            "run `dispute-router init-db` and `dispute-router audit verify` against the restored database.")


@dataclass(frozen=True)
class Checked:
    path: Path
    events: int
    broken: str | None


def backup(ctx: ServiceContext, target: Path, progress: Callable[[int, int], None] | None = None) -> Checked:
    """Copy the running SQLite database to `target`, then check the copy's chains."""
    source = _sqlite(ctx)
    if target.resolve() == source.resolve():
        raise ValidationError("备份文件不能是数据库本身", "the backup cannot be the database itself", field="file")
    if not target.resolve().parent.is_dir():
        raise ValidationError(f"目录不存在：{target.parent}", f"no such directory: {target.parent}", field="file")
    _copy(source, target, progress)
    return _check(ctx, target)


def restore(ctx: ServiceContext, source: Path, *, force: bool = False,
            progress: Callable[[int, int], None] | None = None) -> Checked:
    """Put the copy `source` in the database's place (stop the service first). The copy is taken
    beside the database, brought to this version's schema and checked there: only a copy that holds
    replaces the database (a broken one is reported and the database left as it was). Refuses a
    file that is not this service's database, and a database that holds data unless `force`."""
    target = _sqlite(ctx)
    if not source.is_file() or not is_router_database(source):
        raise ValidationError(f"不是本系统的备份：{source}", f"not a backup of this service: {source}", field="file")
    if target.exists() and target.stat().st_size > 0 and not force:
        raise ValidationError("数据库已有数据；确认覆盖请加 --force", "the database exists; --force overwrites it",
                              field="force")
    staged = target.with_name(f".{target.name}.restoring")
    try:
        _copy(source, staged, progress)
        engine = make_engine(f"sqlite:///{staged}")
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        checked = _check(ctx, staged)
        if checked.broken is not None:
            return Checked(source, checked.events, checked.broken)
        ctx.store.engine.dispose()  # no pooled connection may write to the file being replaced
        for journal in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            journal.unlink(missing_ok=True)  # the old database's journal does not belong to the copy
        staged.replace(target)
        return Checked(target, checked.events, None)
    finally:
        staged.unlink(missing_ok=True)
        for journal in (staged.with_name(staged.name + "-wal"), staged.with_name(staged.name + "-shm")):
            journal.unlink(missing_ok=True)


def _copy(source: Path, target: Path, progress: Callable[[int, int], None] | None) -> None:
    try:
        copy_sqlite(source, target, progress)
    except sqlite3.DatabaseError as e:
        raise ValidationError(f"无法复制：{e}", f"cannot copy: {e}", field="file") from e


def _sqlite(ctx: ServiceContext) -> Path:
    path = sqlite_path(ctx.store.engine)
    if path is None:
        raise ValidationError("该命令只用于内置的 SQLite 数据库", POSTGRES, field="database")
    return path


def _check(ctx: ServiceContext, path: Path) -> Checked:
    """The copy's chains in full, through its keyed checkpoints (services/audit.py)."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:  # a copy of the other suite is not broken: it is not this one's
            copied = suite_of(conn)
        if copied is not None:
            refuse_other(copied, ctx.settings.crypto)
        events, broken = check_copy(engine, ctx.settings.secret_key, ctx.store.chain_hash)
    finally:
        engine.dispose()
    return Checked(path, events, f"{broken.stream} #{broken.stream_seq}: {broken.problem}" if broken else None)
