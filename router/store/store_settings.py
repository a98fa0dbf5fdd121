"""What a database keeps for good once it is set up: its cryptographic suite (store/crypto.py).

The keyed lookup hashes (duplicate detection, party look-up) and the event chain's hashes compare
only within one suite, so a process configured with the other one is refused before it writes a
hash that could never match. A database from before the suite was recorded, holding events, was
set up under the standard suite."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, exists, insert, select
from sqlalchemy.exc import IntegrityError

from router.domain.errors import ConfigError
from router.store.models import Event, StoreSetting

CRYPTO = "crypto"


def suite_of(conn: Connection) -> str | None:
    """The suite a database was set up with, as recorded or as its events show; None when it has
    neither (a new database takes the configured one). Reads only."""
    stored = conn.scalar(select(StoreSetting.value).where(StoreSetting.key == CRYPTO))
    if stored is None and conn.scalar(select(exists().where(Event.id.is_not(None)))):
        return "standard"
    return stored


def refuse_other(stored: str, wanted: str) -> None:
    if stored != wanted:
        raise ConfigError("environment", "ROUTER_CRYPTO",
                          f"this database was set up with the {stored!r} suite and keeps it (its lookup hashes and "
                          f"hash chains are {stored}'s); set ROUTER_CRYPTO={stored}, or start a new database")


def settle_suite(engine: Engine, wanted: str) -> str:
    """The database's suite, recorded now if it has none; ConfigError when it is not `wanted`."""
    with engine.begin() as conn:
        stored = conn.scalar(select(StoreSetting.value).where(StoreSetting.key == CRYPTO))
        if stored is None:
            stored = suite_of(conn) or wanted
            try:
                with conn.begin_nested():
                    conn.execute(insert(StoreSetting).values(key=CRYPTO, value=stored))
            except IntegrityError:  # another process recorded it first
                stored = conn.scalar(select(StoreSetting.value).where(StoreSetting.key == CRYPTO))
    refuse_other(stored, wanted)
    return stored
