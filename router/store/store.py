"""The store: the engine's sessions, one unit of work per writing transaction (store/uow.py), reads
without a write lock, and the lookups hot enough to skip a session."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from router.store import sealing
from router.store.crypto import suite
from router.store.db import WriteLate
from router.store.pii import PiiCipher
from router.store.uow import (
    AGENCIES,
    EventObserver,
    SavepointSession,
    UnitOfWork,
    after_soft_rollback_hook,
    before_statement_hook,
)
from router.store.writelock import WriterLock

MODES_TTL_SECONDS = 5.0


class Store:
    def __init__(self, engine: Engine, cipher: PiiCipher | None = None) -> None:
        self.engine = engine
        self.cipher = cipher
        self.chain_hash = "sha256"
        self.clock: Callable[[], datetime] | None = None  # the service clock (ServiceContext sets it)
        self._sessions = sessionmaker(engine, class_=SavepointSession, expire_on_commit=False)
        event.listen(self._sessions, "do_orm_execute", before_statement_hook)
        event.listen(self._sessions, "after_soft_rollback", after_soft_rollback_hook)
        event.listen(self._sessions, "before_flush", sealing.before_flush_hook)
        event.listen(self._sessions, "after_flush", sealing.after_flush_hook)
        # SQLite has one writer at a time: writers queue on a lock (store/writelock.py) rather than
        # sleep in SQLite's busy handler.
        self._writer = WriterLock(engine.url.database) if engine.dialect.name == "sqlite" else None
        self.observers: tuple[EventObserver, ...] = ()
        self._modes: tuple[float, dict[str, str]] | None = None

    def use_suite(self, name: str) -> None:
        """Hash this store's chains with the suite's hash (store/crypto.py); its sessions carry it."""
        self.chain_hash = suite(name).hash_name
        self._sessions.configure(info={"chain_hash": self.chain_hash})

    def observe(self, observer: EventObserver) -> None:
        """Have `observer` see every event appended from now on, in the appending transaction."""
        self.observers = (*self.observers, observer)

    @contextmanager
    def unit_of_work(self, *, write_late: bool = False) -> Iterator[UnitOfWork]:
        """One writing transaction. `write_late`: on SQLite, its reads take no snapshot and the write
        lock is taken at its first write (store/db.py WriteLate), so everything it works out before
        that runs beside other writers; only for work whose reads may see a newer commit."""
        late = write_late and self._writer is not None
        with contextlib.ExitStack() as lock, self._sessions() as session, session.begin():
            if self._writer is not None and not late:
                lock.enter_context(self._writer.held())
            elif late:  # held from the first write until after the commit: `lock` is left last
                session.connection(execution_options={
                    "router_write_late": WriteLate(lambda: lock.enter_context(self._writer.held()))})
            uow = UnitOfWork(session, self.observers, self.delivery_modes, self.cipher, self.clock)
            yield uow
            uow.write_pending()

    def delivery_modes(self) -> dict[str, str]:
        """Each agency's delivery mode (push, pull, paper), read at most every few seconds. A stale
        answer loses nothing: a delivery held for an agency connected since is sent after all
        (store/uow.py `_release_connected`), one sent to an agency disconnected since is held when a
        worker claims it (services/delivery.py)."""
        stamp, cached = time.monotonic(), self._modes
        if cached is None or stamp - cached[0] > MODES_TTL_SECONDS:
            with self.engine.connect().execution_options(router_readonly=True) as conn:
                modes = {code: mode for code, mode in conn.execute(select(AGENCIES.c.code, AGENCIES.c.delivery))}
            cached = self._modes = (stamp, modes)
        return cached[1]

    def forget_delivery_modes(self) -> None:
        """The agencies were just changed here: read their modes afresh."""
        self._modes = None

    def fetch_one(self, stmt: Any, params: dict[str, Any]) -> Any:
        """One row of a read-only Core statement, without a session: for the hottest lookups. One
        statement needs no transaction around it: without one, it costs no BEGIN and no ROLLBACK
        (on PostgreSQL two round trips)."""
        with self.engine.connect().execution_options(router_readonly=True, isolation_level="AUTOCOMMIT") as conn:
            return conn.execute(stmt, params).first()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session:
            session.connection(execution_options={"router_readonly": True})
            yield session
