"""`dispute-router keys rotate-pii`: every personal-data ciphertext and lookup hash moved to the
current ROUTER_PII_KEY, in small batches while the service runs (docs/domain.md §9).

The operator sets the new key as ROUTER_PII_KEY and the old one in ROUTER_PII_OLD_KEYS on every
process; from then on new data is written with the new key, old data is still read and looked up
under the old one (store/pii.py), and this re-encrypts what the old key wrote: the parties' ID
numbers and phones (with their lookup hashes), the agencies' signing secrets and the originals of
masked free text. Each batch is one short transaction; a row changed meanwhile (its ciphertext is
no longer the one read) is left for the next run. When `status` counts nothing under an old key,
it can be dropped from ROUTER_PII_OLD_KEYS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import Column, select, update

from router.domain.errors import ValidationError
from router.services.context import SYSTEM, ServiceContext
from router.services.warnings import REPEAT_WHAT
from router.store.models import AgencyKey, Party, SealedText
from router.store.report_models import Signal

Progress = Callable[[int, int], None]
BATCH = 500


@dataclass(frozen=True)
class _Field:
    """One encrypted column: its table's key, its associated data, and the lookup hash made from it."""

    table: Any
    key: Column[Any]
    blob: Column[Any]
    context: Callable[[Any], str]
    hash_column: Column[Any] | None = None


FIELDS = (
    _Field(Party.__table__, Party.__table__.c.id, Party.__table__.c.id_number_enc, lambda _: "id_number",
           Party.__table__.c.id_number_hash),
    _Field(Party.__table__, Party.__table__.c.id, Party.__table__.c.phone_enc, lambda _: "phone",
           Party.__table__.c.phone_hash),
    _Field(AgencyKey.__table__, AgencyKey.__table__.c.key_id, AgencyKey.__table__.c.secret_enc,
           lambda k: f"agency_key:{k}"),
    _Field(SealedText.__table__, SealedText.__table__.c.place, SealedText.__table__.c.original_enc,
           lambda k: f"sealed:{k}"),
)


def status(ctx: ServiceContext) -> dict[str, int]:
    """How many ciphertexts are under the current key and how many still under another."""
    current = old = 0
    for _f, _key, blob in _all(ctx):
        if blob is None:
            continue
        if ctx.cipher.is_current(blob):
            current += 1
        else:
            old += 1
    return {"current": current, "old": old}


def rotate(ctx: ServiceContext, *, batch: int = BATCH, progress: Progress | None = None) -> dict[str, Any]:
    """Re-encrypt (and re-hash) everything not under the current key; {rotated, skipped, unreadable,
    left}. A ciphertext no configured key reads (a key missing from ROUTER_PII_OLD_KEYS, a damaged
    value) is counted and named (`unreadable_at`, by place, never by content), and the run goes on;
    what it did is recorded even so."""
    if batch < 1:
        raise ValidationError("每批条数应为正整数", "batch must be a positive number of rows", field="batch")
    todo = [(f, key) for f, key, blob in _all(ctx) if blob is not None and not ctx.cipher.is_current(blob)]
    rotated = skipped = 0
    unreadable: list[str] = []
    try:
        for start in range(0, len(todo), batch):
            with ctx.store.unit_of_work() as uow:
                conn = uow.session.connection()
                for f, key in todo[start:start + batch]:
                    blob = conn.execute(select(f.blob).where(f.key == key)).scalar()
                    if blob is None or ctx.cipher.is_current(blob):
                        skipped += 1
                        continue
                    try:
                        plain = ctx.cipher.decrypt(blob, f.context(key))
                    except (ValueError, InvalidTag):
                        unreadable.append(f"{f.blob.table.name}.{f.blob.name}:{key}")
                        continue
                    done = _rekey(ctx, conn, f, key, blob, plain)
                    rotated += done
                    skipped += 1 - done
            if progress:
                progress(min(start + batch, len(todo)), len(todo))
    finally:
        left = status(ctx)["old"]
        if rotated or unreadable:
            with ctx.store.unit_of_work() as uow:
                uow.append_event(type="pii.keys_rotated", actor=SYSTEM.id, at=ctx.now(),
                                 data={"rotated": rotated, "skipped": skipped, "unreadable": len(unreadable),
                                       "left": left, "key_id": ctx.cipher.current_id.hex()})
    return {"rotated": rotated, "skipped": skipped, "unreadable": len(unreadable), "unreadable_at": unreadable[:20],
            "left": left}


def _rekey(ctx: ServiceContext, conn: Any, f: _Field, key: Any, blob: bytes, plain: str) -> int:
    """One row under the current key, if nobody changed it meanwhile; a repeat-party warning keyed by
    the old lookup hash (services/warnings.py) follows it, so it is neither cleared nor raised again."""
    values: dict[str, Any] = {f.blob.name: ctx.cipher.encrypt(plain, f.context(key))}
    old_hash = None
    if f.hash_column is not None:
        values[f.hash_column.name] = ctx.cipher.lookup_hash(plain, f.context(key))
        old_hash = conn.execute(select(f.hash_column).where(f.key == key)).scalar()
    done = conn.execute(update(f.table).where(f.key == key, f.blob == blob).values(**values)).rowcount
    if done and old_hash and f.hash_column is not None and old_hash != values[f.hash_column.name]:
        what = REPEAT_WHAT[f.hash_column.name]
        conn.execute(update(Signal).where(Signal.key == f"repeat_party:{what}:{old_hash[:24]}").values(
            key=f"repeat_party:{what}:{values[f.hash_column.name][:24]}"))
    return int(done)


def _all(ctx: ServiceContext) -> Iterator[tuple[_Field, Any, bytes | None]]:
    """Every (field, row key, ciphertext), read a page at a time by key."""
    for f in FIELDS:
        after: Any = None
        while True:
            with ctx.store.read() as s:
                q = select(f.key, f.blob).where(f.blob.is_not(None))
                if after is not None:
                    q = q.where(f.key > after)
                rows = s.execute(q.order_by(f.key).limit(BATCH * 4)).all()
            if not rows:
                break
            for key, blob in rows:
                yield f, key, blob
            after = rows[-1][0]

