"""Hash-chained, append-only events: each event's hash covers its content and the previous hash."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from router.store.crypto import chain_digest
from router.store.models import Dispute, Event

GENESIS = "0" * 64
SYSTEM_STREAM = "system"


def canonical_time(t: datetime) -> str:
    """An instant as hashed: UTC, six fractional digits, a literal Z."""
    if t.tzinfo is None:  # SQLite hands back naive UTC
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


HASHED = ("id", "stream", "stream_seq", "dispute_id", "handoff_id", "type", "actor", "occurred_at", "data",
          "prev_hash")


def hashed_fields(e: Event) -> dict[str, Any]:
    """Exactly what an event's hash covers, `occurred_at` in its canonical form (docs/audit-chain.md §2)."""
    return {"id": e.id, "stream": e.stream, "stream_seq": e.stream_seq, "dispute_id": e.dispute_id,
            "handoff_id": e.handoff_id, "type": e.type, "actor": e.actor,
            "occurred_at": canonical_time(e.occurred_at), "data": e.data, "prev_hash": e.prev_hash}


SHA256 = "sha256"  # the chain's hash by default; "sm3" under 国密 (store/crypto.py)


def hash_of(body: dict[str, Any], algorithm: str = SHA256) -> str:
    """The hash of the ten hashed fields as exported (a case file's events.json holds them)."""
    raw = json.dumps({k: body[k] for k in HASHED}, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                     default=str)
    return chain_digest(algorithm, raw.encode())


def event_hash(e: Event, algorithm: str = SHA256) -> str:
    return hash_of(hashed_fields(e), algorithm)


def row_hash(row: dict[str, Any], algorithm: str = SHA256) -> str:
    """The hash of an event row not yet written (store/uow.py keeps them as dicts)."""
    return hash_of({**row, "occurred_at": canonical_time(row["occurred_at"])}, algorithm)


def algorithm_of(session: Session) -> str:
    """The chain hash of the store the session belongs to (Store.use_suite)."""
    return str(session.info.get("chain_hash", SHA256))


@dataclass(frozen=True)
class BrokenLink:
    stream: str
    stream_seq: int
    event_id: str | None
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "stream_seq": self.stream_seq, "event_id": self.event_id,
                "problem": self.problem}


def verify_stream(session: Session, stream: str) -> BrokenLink | None:
    """The first broken link of one stream, or None when the chain is intact."""
    return verify_from(session, stream)[0]


def verify_from(session: Session, stream: str, seq: int = 0, prev: str = GENESIS,
                through: tuple[int, str] | None = None,
                passes: dict[int, str] | None = None) -> tuple[BrokenLink | None, int, str, int]:
    """Check `stream` after event `seq` (whose hash is `prev`) to its head: (the first broken link,
    the last seq and hash reached, events checked). `through`: a (seq, hash) the chain must pass,
    as last verified (services/audit.py); `passes`: more of them, by seq (services/anchors.py)."""
    last_seq, last_hash, checked = seq, prev, 0
    algorithm = algorithm_of(session)
    passes = {**(passes or {}), **({through[0]: through[1]} if through is not None else {})}

    def broken(at: int, event_id: str | None, problem: str) -> tuple[BrokenLink, int, str, int]:
        return BrokenLink(stream, at, event_id, problem), last_seq, last_hash, checked

    # The dispute's head is read first and the walk stops there: events committed after that read
    # (under READ COMMITTED a later statement sees them) are the next check's, not a mismatch.
    d = session.get(Dispute, stream) if stream != SYSTEM_STREAM else None
    head = (d.event_count, d.event_head) if d is not None else None
    q = select(Event).where(Event.stream == stream, Event.stream_seq > seq)
    if head is not None:
        q = q.where(Event.stream_seq <= max(head[0], seq))
    for e in session.scalars(q.order_by(Event.stream_seq)):
        if e.stream_seq != last_seq + 1:
            return broken(last_seq + 1, None, "missing event (gap in sequence)")
        if e.prev_hash != last_hash:
            return broken(e.stream_seq, e.id, "prev_hash does not match the previous event")
        if event_hash(e, algorithm) != e.hash:
            return broken(e.stream_seq, e.id, "content does not match its hash")
        if e.stream_seq in passes and e.hash != passes[e.stream_seq]:
            return broken(e.stream_seq, e.id, "history rewritten since it was last verified")
        last_seq, last_hash, checked = e.stream_seq, e.hash, checked + 1
    if passes and last_seq < max(passes):
        return broken(last_seq + 1, None, "events removed since it was last verified")
    if head is not None and (head[0] != last_seq or head[1] != (last_hash if last_seq else None)):
        return broken(last_seq + 1, None, "chain head does not match the dispute (events removed from the end)")
    return None, last_seq, last_hash, checked
