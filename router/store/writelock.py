"""SQLite's one writer at a time, queued fairly (docs/architecture.md §8).

SQLite lets one transaction write at a time; a writer that finds the database locked sleeps in its
busy handler, in growing steps, and may oversleep the moment the lock frees: under load p99 latency
grew to seconds. Writers here queue instead: threads of one process on a lock, processes of one
machine (`serve --processes N` on the embedded default) on an advisory lock of a file beside the
database, which the kernel hands to the next waiter the moment it is released.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows: one process, the thread lock alone
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    """Held around every writing transaction on one SQLite file."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = Path(f"{database}.writer-lock") if database and database != ":memory:" and fcntl else None
        self._file: IO[bytes] | None = None
        self._pid = 0

    def _handle(self) -> IO[bytes] | None:
        if self._path is None:
            return None
        if self._file is None or self._pid != os.getpid():  # a forked child opens its own
            self._file, self._pid = open(self._path, "ab"), os.getpid()  # noqa: SIM115 - kept open
        return self._file

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            f = self._handle()
            if f is None:
                yield
                return
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
