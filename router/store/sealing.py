"""The originals of masked free text (router/domain/personal_text.py), kept encrypted by the very
transaction that stores the mask, wherever that mask is stored: in an event's data, in a column
written by the unit of work, or in a column the ORM flushes (docs/domain.md §9).

Rows are written at once rather than buffered: they are rare (only text that held a number), and
the ORM's last flush comes after the unit of work wrote its buffer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from router.domain.personal_text import Sealed, sealed_in
from router.store.models import SealedText
from router.store.pii import PiiCipher

SEALED = SealedText.__table__


class UnitOfWork(Protocol):
    """What of store/uow.py's unit of work this needs (it imports this module)."""

    session: Session
    cipher: PiiCipher | None
    sealed: dict[str, str]  # place -> original kept there in this transaction

    def now(self) -> datetime: ...


def keep(uow: UnitOfWork, where: str, value: Any, dispute_id: str | None, at: datetime) -> None:
    """Keep the original of every `Sealed` string in `value` (a dict, a list or a string), stored
    under `where` (`events:<id>`, `disputes:<id>`)."""
    for path, s in sealed_in(value):
        _write(uow, f"{where}:{path}" if path else where, s, dispute_id, at)


def _write(uow: UnitOfWork, place: str, s: Sealed, dispute_id: str | None, at: datetime) -> None:
    if uow.sealed.get(place) == s.original:
        return
    if uow.cipher is None:
        raise RuntimeError("free text with personal numbers needs the store's PII cipher to keep its original")
    conn = uow.session.connection()
    # Replaced, not updated: a savepoint rolled back since may have taken the earlier row with it.
    conn.execute(delete(SEALED).where(SEALED.c.place == place))
    conn.execute(insert(SEALED).values(place=place, dispute_id=dispute_id, kinds=",".join(s.kinds), sealed_at=at,
                                       original_enc=uow.cipher.encrypt(s.original, f"sealed:{place}")))
    uow.sealed[place] = s.original


def before_flush_hook(session: Session, flush: UOWTransaction, instances: Any) -> None:
    """The sessions' before_flush hook: a masked value set on a mapped object (a return reason, a
    summary completed at the window) has its original kept with the row. A row whose key the
    database gives it (autoincrement) is named once it has one, after the flush."""
    uow = session.info.get("uow")
    if uow is None:
        return
    later = session.info.setdefault("seal_after_flush", [])
    for obj in (*session.new, *session.dirty):
        found = [(f"{k}.{path}" if path else k, s) for k, v in vars(obj).items() if not k.startswith("_")
                 for path, s in sealed_in(v)]
        if not found:
            continue
        if None in inspect(obj).mapper.primary_key_from_instance(obj):
            later.append((obj, found))
        else:
            _seal_row(uow, obj, found)


def after_flush_hook(session: Session, flush: UOWTransaction) -> None:
    uow, later = session.info.get("uow"), session.info.pop("seal_after_flush", [])
    for obj, found in later if uow is not None else ():
        _seal_row(uow, obj, found)


def _seal_row(uow: UnitOfWork, obj: Any, found: list[tuple[str, Sealed]]) -> None:
    mapper = inspect(obj).mapper
    ident = ",".join(str(k) for k in mapper.primary_key_from_instance(obj))
    table = mapper.local_table.name
    dispute_id = obj.id if table == "disputes" else getattr(obj, "dispute_id", None)
    for key, s in found:
        _write(uow, f"{table}:{ident}:{key}", s, dispute_id, uow.now())
