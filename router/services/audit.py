"""The whole store's hash chains checked a little at a time (docs/audit-chain.md §6).

Checking every event on every call took 9 s at 72 000 events, and eight calls at once starved the
health check. Each chain's head, once verified, is kept as a checkpoint; the next check reads only
the chains that moved, from their checkpoint on, and makes sure each still passes through it. The
checkpoint carries a MAC keyed by the service's secret (not in the database), so someone who can
write the database can rewrite a chain and its head, but not the checkpoint to match: the
rewrite shows at the next check. The full check (`full=True`: the CLI, the nightly housekeeping)
rehashes every chain from its first event, through its checkpoint."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from router.services.context import ServiceContext
from router.store.chain import GENESIS, SYSTEM_STREAM, BrokenLink, verify_from
from router.store.models import AuditCheckpoint, Dispute, Event

Progress = Callable[[int, int], None]


def verify_store(ctx: ServiceContext, *, full: bool = False, progress: Progress | None = None) -> dict[str, Any]:
    """{ok, events_checked, streams_checked, first_broken, mode}: every chain that moved since its
    checkpoint (every chain when `full`), checkpoints moved forward for those that hold. Without
    `full` it reads the events of what moved only; finding what moved is one pass over the disputes'
    counts against their checkpoints (a join, no event read)."""
    key, at = _key(ctx), ctx.now()
    with ctx.store.read() as s:
        gone = s.scalar(select(AuditCheckpoint.stream).outerjoin(Dispute, Dispute.id == AuditCheckpoint.stream)
                        .where(Dispute.id.is_(None), AuditCheckpoint.stream != SYSTEM_STREAM).limit(1))
        if gone is not None:  # a verified dispute deleted with its events
            return _answer(BrokenLink(gone, 1, None, "a verified chain's dispute is gone"), 0, 0, full)
        todo = _moved(s, full)
    events = 0
    for i, (stream, point) in enumerate(todo):
        if point is not None and not hmac.compare_digest(point.mac, _mac(key, point.stream, point.seq, point.hash)):
            return _answer(BrokenLink(stream, point.seq, None, "checkpoint altered (its MAC does not match)"),
                           events, i, full)
        with ctx.store.read() as s:
            broken, seq, head, n = _check(s, stream, point, full)
        events += n
        if broken is not None:
            return _answer(broken, events, i, full)
        if seq and (point is None or point.seq != seq):
            _keep(ctx, key, stream, seq, head, at)
        if progress:
            progress(i + 1, len(todo))
    return _answer(None, events, len(todo), full)


def _moved(s: Session, full: bool) -> list[tuple[str, AuditCheckpoint | None]]:
    """The chains to check, with their checkpoints: those whose head is not their checkpoint's, or all."""
    cp = AuditCheckpoint
    q = select(Dispute.id, cp).outerjoin(cp, cp.stream == Dispute.id)
    if not full:
        q = q.where(Dispute.event_count != func.coalesce(cp.seq, 0))
    out = [(stream, point) for stream, point in s.execute(q.order_by(Dispute.id)).all()]
    system = s.get(cp, SYSTEM_STREAM)
    last = s.scalar(select(func.max(Event.stream_seq)).where(Event.stream == SYSTEM_STREAM)) or 0
    if full or last != (system.seq if system is not None else 0):
        out.append((SYSTEM_STREAM, system))
    for _stream, point in out:
        if point is not None:
            s.expunge(point)
    return out


def _check(s: Session, stream: str, point: AuditCheckpoint | None, full: bool) -> tuple[BrokenLink | None, int,
                                                                                         str, int]:
    through = (point.seq, point.hash) if point is not None else None
    if full or point is None:
        return verify_from(s, stream, through=through)
    return verify_from(s, stream, point.seq, point.hash, through=None) if _still_there(s, point) else (
        BrokenLink(stream, point.seq, None, "history rewritten or removed since it was last verified"), 0, GENESIS, 0)


def _still_there(s: Session, point: AuditCheckpoint) -> bool:
    """The last verified event is still there, unchanged (one indexed read)."""
    found = s.scalar(select(Event.hash).where(Event.stream == point.stream, Event.stream_seq == point.seq))
    return found is not None and found == point.hash


def _keep(ctx: ServiceContext, key: bytes, stream: str, seq: int, head: str, at: Any) -> None:
    with ctx.store.unit_of_work() as uow:
        point = uow.session.get(AuditCheckpoint, stream)
        if point is None:
            uow.session.add(AuditCheckpoint(stream=stream, seq=seq, hash=head, checked_at=at,
                                            mac=_mac(key, stream, seq, head)))
        elif point.seq < seq:  # another check may have moved it further meanwhile
            point.seq, point.hash, point.checked_at, point.mac = seq, head, at, _mac(key, stream, seq, head)


def _answer(broken: BrokenLink | None, events: int, streams: int, full: bool) -> dict[str, Any]:
    return {"ok": broken is None, "events_checked": events, "streams_checked": streams,
            "first_broken": broken.as_dict() if broken else None, "mode": "full" if full else "incremental"}


def _key(ctx: ServiceContext) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"dispute-router audit checkpoint v1").derive(ctx.settings.secret_key.encode())


def _mac(key: bytes, stream: str, seq: int, head: str) -> str:
    return hmac.new(key, f"{stream}\n{seq}\n{head}".encode(), hashlib.sha256).hexdigest()
