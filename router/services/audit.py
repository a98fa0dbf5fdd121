"""The whole store's hash chains checked a little at a time (docs/audit-chain.md §6).

Checking every event on every call took 9 s at 72 000 events, and eight calls at once starved the
health check. Each chain's head, once verified, is kept as a checkpoint; the next check reads only
the chains that moved, from their checkpoint on, and makes sure each still passes through it. The
checkpoint carries a MAC keyed by the service's secret (not in the database), so someone who can
write the database can rewrite a chain and its head, but not the checkpoint to match: the
rewrite shows at the next check. The full check (`full=True`: the CLI, and the scheduler's auditor
once a day) rehashes every chain from its first event, through its checkpoint."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from router.services.context import ServiceContext
from router.store.chain import GENESIS, SYSTEM_STREAM, BrokenLink, verify_from
from router.store.models import AuditCheckpoint, Dispute, Event

Progress = Callable[[int, int], None]


MAX_REPORTED = 20  # broken chains listed in one answer; the rest are counted


def verify_store(ctx: ServiceContext, *, full: bool = False, rekey: bool = False,
                 progress: Progress | None = None) -> dict[str, Any]:
    """{ok, events_checked, streams_checked, first_broken, broken, broken_count, mode}: every chain
    that moved since its checkpoint (every chain when `full`), checkpoints moved forward for those
    that hold. A broken chain does not stop the check: the chains after it are checked too, and
    every break is listed. Without `full` it reads the events of what moved only; finding what moved
    is one pass over the disputes' counts against their checkpoints (a join, no event read).
    `rekey` (with `full`): checkpoints made with another ROUTER_SECRET_KEY are set aside and the
    chains checked from their first event, then signed with this one."""
    key, at = _key(ctx), ctx.now()
    kid = _key_id(key)
    with ctx.store.read() as s:
        gone = s.scalar(select(AuditCheckpoint.stream).outerjoin(Dispute, Dispute.id == AuditCheckpoint.stream)
                        .where(Dispute.id.is_(None), AuditCheckpoint.stream != SYSTEM_STREAM).limit(1))
        todo = _moved(s, full)
    breaks: list[BrokenLink] = []
    if gone is not None:  # a verified dispute deleted with its events
        breaks.append(BrokenLink(gone, 1, None, "a verified chain's dispute is gone"))
    events = 0
    for i, (stream, point) in enumerate(todo):
        if point is not None and (distrust := _distrust(point, key, kid)) is not None:
            if not (full and rekey and point.key_id != kid):
                breaks.append(distrust)
                continue
            point = None  # made with another key: checked from the first event, then signed anew
        with ctx.store.read() as s:
            broken, seq, head, n = _check(s, stream, point, full)
        events += n
        if broken is not None:
            breaks.append(broken)
        elif seq and (point is None or point.seq != seq):
            _keep(ctx, key, kid, stream, seq, head, at)
        if progress:
            progress(i + 1, len(todo))
    return {"ok": not breaks, "events_checked": events, "streams_checked": len(todo),
            "first_broken": breaks[0].as_dict() if breaks else None,
            "broken": [b.as_dict() for b in breaks[:MAX_REPORTED]], "broken_count": len(breaks),
            "mode": "full" if full else "incremental"}


def check_copy(engine: Engine, secret_key: str, chain_hash: str = "sha256") -> tuple[int, BrokenLink | None]:
    """A copy of the store (a backup) checked in full, through its checkpoints, changing nothing:
    (events checked, the first broken link)."""
    key = _key_from(secret_key)
    kid, events = _key_id(key), 0
    with Session(engine, info={"chain_hash": chain_hash}) as s:
        for stream, point in _moved(s, True):
            if point is not None and (distrust := _distrust(point, key, kid)) is not None:
                return events, distrust
            broken, _seq, _head, n = _check(s, stream, point, True)
            events += n
            if broken is not None:
                return events, broken
    return events, None


def daily(ctx: ServiceContext, last: datetime | None) -> tuple[datetime, dict[str, Any]] | None:
    """The full check when a day has passed since `last` (by the service clock), else None: what the
    scheduler's auditor runs every hour, off its timers' thread. An edit that recomputed no hash in
    a chain verified before is found only by rehashing it."""
    now = ctx.now()
    if last is not None and now - last < timedelta(days=1):
        return None
    return now, verify_store(ctx, full=True)


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


def _distrust(point: AuditCheckpoint, key: bytes, kid: str) -> BrokenLink | None:
    """Why a checkpoint cannot be started from, if it cannot: another key made it, or it was altered."""
    if point.key_id != kid:
        return BrokenLink(point.stream, point.seq, None, "checkpoint made with another ROUTER_SECRET_KEY "
                                                         "(run `dispute-router audit verify --full --rekey`)")
    if not hmac.compare_digest(point.mac, _mac(key, point.stream, point.seq, point.hash)):
        return BrokenLink(point.stream, point.seq, None, "checkpoint altered (its MAC does not match)")
    return None


def trust_check(ctx: ServiceContext) -> Callable[[AuditCheckpoint], bool]:
    """Whether a checkpoint may be relied on (its MAC holds, with this key), the key derived once
    for all the checkpoints asked about (services/anchors.py)."""
    key = _key(ctx)
    kid = _key_id(key)
    return lambda point: _distrust(point, key, kid) is None


def _still_there(s: Session, point: AuditCheckpoint) -> bool:
    """The last verified event is still there, unchanged (one indexed read)."""
    found = s.scalar(select(Event.hash).where(Event.stream == point.stream, Event.stream_seq == point.seq))
    return found is not None and found == point.hash


def _keep(ctx: ServiceContext, key: bytes, kid: str, stream: str, seq: int, head: str, at: Any) -> None:
    values = {"seq": seq, "hash": head, "checked_at": at, "mac": _mac(key, stream, seq, head), "key_id": kid}
    for _ in range(2):  # two checks at once may both add a new chain's first checkpoint
        try:
            with ctx.store.unit_of_work() as uow:
                point = uow.session.get(AuditCheckpoint, stream, with_for_update=True)
                if point is None:
                    uow.session.add(AuditCheckpoint(stream=stream, **values))
                elif point.seq < seq or point.key_id != kid:  # another check may have moved it further
                    for k, v in values.items():
                        setattr(point, k, v)
            return
        except IntegrityError:
            continue


def _key(ctx: ServiceContext) -> bytes:
    return _key_from(ctx.settings.secret_key)


def _key_from(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"dispute-router audit checkpoint v1").derive(secret_key.encode())


def _key_id(key: bytes) -> str:
    """Which key: a short digest of it, never the key."""
    return hmac.new(key, b"key id", hashlib.sha256).hexdigest()[:16]


def _mac(key: bytes, stream: str, seq: int, head: str) -> str:
    return hmac.new(key, f"{stream}\n{seq}\n{head}".encode(), hashlib.sha256).hexdigest()
