"""`dispute-router backup` and `restore` (README "Backups", docs/api.md §9): the embedded database
copied while serving, put back, and its hash chains checked either way, so a copy is known good
before anyone relies on it. The keys (ROUTER_PII_KEY, ROUTER_SECRET_KEY or their files under
ROUTER_VAR_DIR) are not in the database: a copy without them cannot be read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from router.domain.errors import ValidationError
from router.services.context import ServiceContext
from router.store.backup import copy_sqlite, sqlite_path
from router.store.chain import verify_all
from router.store.db import make_engine
from router.store.migrate import upgrade

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
    copy_sqlite(source, target, progress)
    return _check(target)


def restore(ctx: ServiceContext, source: Path, *, force: bool = False,
            progress: Callable[[int, int], None] | None = None) -> Checked:
    """Put the copy `source` in the database's place (stop the service first), bring its schema to
    this version, and check its chains. Refuses to overwrite a database that holds data unless `force`."""
    target = _sqlite(ctx)
    if not source.is_file():
        raise ValidationError(f"备份文件不存在：{source}", f"no such backup file: {source}", field="file")
    if target.exists() and target.stat().st_size > 0 and not force:
        raise ValidationError("数据库已有数据；确认覆盖请加 --force", "the database exists; --force overwrites it",
                              field="force")
    ctx.store.engine.dispose()  # no pooled connection may write to the file being replaced
    copy_sqlite(source, target, progress)
    for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)  # the old database's journal does not belong to the copy
    upgrade(ctx.store.engine)
    return _check(target)


def _sqlite(ctx: ServiceContext) -> Path:
    path = sqlite_path(ctx.store.engine)
    if path is None:
        raise ValidationError("该命令只用于内置的 SQLite 数据库", POSTGRES, field="database")
    return path


def _check(path: Path) -> Checked:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as s:
            events, broken = verify_all(s)
    finally:
        engine.dispose()
    return Checked(path, events, f"{broken.stream} #{broken.stream_seq}: {broken.problem}" if broken else None)
