"""Audit anchors (docs/audit-chain.md §7): once a day, the verified heads of every chain that moved
since the day before, chained to the previous anchor by digest, so that one 64-character digest
commits to the verified history of the whole store up to then.

The checkpoints (services/audit.py) stop someone who can write the database but lacks the secret;
whoever holds both could rewrite a chain and re-sign its checkpoint. An anchor's digest kept
outside (printed for the file, or sent to a witness: ROUTER_ANCHOR_URL) stops them too: the store's
anchors must still hash to that digest, and every chain must still pass through the head each of
them holds."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from router.adapters.witness import WitnessError, send_anchor
from router.domain.errors import StateConflict
from router.services import audit
from router.services.context import ServiceContext
from router.store.chain import GENESIS, canonical_time, verify_from
from router.store.crypto import chain_digest
from router.store.models import AuditAnchor, AuditCheckpoint, Event

log = logging.getLogger(__name__)

EVERY = timedelta(hours=20)  # the daily anchor, whichever scheduler (of several) gets there first


def digest_of(seq: int, made_at: str, prev: str, heads: list[list[Any]], algorithm: str = "sha256") -> str:
    """The chain's hash (SHA-256, or SM3 under 国密) of the anchor's canonical JSON: what a witness
    can recompute from `published`."""
    body = {"seq": seq, "made_at": made_at, "prev_digest": prev, "heads": heads}
    return chain_digest(algorithm, json.dumps(body, sort_keys=True, ensure_ascii=False,
                                              separators=(",", ":")).encode())


def published(a: AuditAnchor, algorithm: str = "sha256") -> dict[str, Any]:
    """The anchor as printed and sent: enough to recompute its digest."""
    return {"seq": a.seq, "made_at": canonical_time(a.made_at), "prev_digest": a.prev_digest, "digest": a.digest,
            "algorithm": algorithm, "streams": a.streams, "heads": a.heads}


def make(ctx: ServiceContext, *, force: bool = False) -> AuditAnchor | None:
    """A new anchor of the verified heads that moved past what the anchors hold; None when the last
    anchor is recent (`force`: make one anyway) or another process made it at the same moment.

    What moved is decided against the anchors themselves, whose digests chain to the one kept
    outside, not against anything in the database an intruder could set. A checkpoint whose MAC
    does not hold is left out, and so is one that contradicts the anchors (the same seq with
    another hash, a shorter chain, or a chain that no longer passes through the anchored head):
    an anchor never vouches for a rewrite; those are logged and shown by `check-anchor`."""
    at = ctx.now()
    try:
        with ctx.store.unit_of_work() as uow:
            s = uow.session
            anchors = s.scalars(select(AuditAnchor).order_by(AuditAnchor.seq)).all()
            last = anchors[-1] if anchors else None
            if last is not None and not force and at - last.made_at < EVERY:
                return None
            walk = _walk(ctx, anchors)
            if walk.problem is not None:
                raise StateConflict("已保存的审计锚点被改动，不能在其上继续生成锚点",
                                    f"{walk.problem}: run `dispute-router audit check-anchor` with the last digest "
                                    "kept outside", field="anchor")
            held = walk.last_heads()
            moved, contradicting, trusted = [], [], audit.trust_check(ctx)
            for p in s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.stream)):
                before = held.get(p.stream)
                if not trusted(p) or (before is not None and before[0] == p.seq and before[1] == p.hash):
                    continue
                if before is None or (p.seq > before[0] and s.scalar(select(Event.hash).where(
                        Event.stream == p.stream, Event.stream_seq == before[0])) == before[1]):
                    moved.append([p.stream, p.seq, p.hash])
                else:
                    contradicting.append(p.stream)
            if contradicting:
                log.error("audit anchor: chains contradict earlier anchors, left out",
                          extra={"count": len(contradicting), "streams": contradicting[:20]})
            seq, prev = (last.seq + 1, last.digest) if last is not None else (1, GENESIS)
            anchor = AuditAnchor(seq=seq, made_at=at, prev_digest=prev, heads=moved,
                                 streams=len(held.keys() | {m[0] for m in moved}),
                                 digest=digest_of(seq, canonical_time(at), prev, moved, ctx.store.chain_hash))
            s.add(anchor)
        return anchor
    except IntegrityError:  # another scheduler made this anchor first
        return None


@dataclass
class _Walk:
    """The anchors read from the first: every head each holds per chain, by seq (`passes`), the
    heads an anchor holds against an earlier one (`contradictions`), or what is wrong with them."""

    passes: dict[str, dict[int, str]] = field(default_factory=dict)
    contradictions: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None
    at: int | None = None  # the anchor the problem is in

    def last_heads(self) -> dict[str, tuple[int, str]]:
        return {stream: max(by_seq.items()) for stream, by_seq in self.passes.items()}


def _walk(ctx: ServiceContext, anchors: list[AuditAnchor], until: AuditAnchor | None = None) -> _Walk:
    w, prev = _Walk(), GENESIS
    for n, a in enumerate(anchors, 1):
        if a.seq != n:
            w.problem, w.at = f"anchor {n} is missing", n
            return w
        if a.prev_digest != prev or digest_of(a.seq, canonical_time(a.made_at), a.prev_digest, a.heads,
                                              ctx.store.chain_hash) != a.digest:
            w.problem, w.at = f"anchor {a.seq} altered: it no longer hashes to its digest or its link", a.seq
            return w
        prev = a.digest
        for stream, seq, head in a.heads:
            by_seq = w.passes.setdefault(stream, {})
            if by_seq.setdefault(seq, head) != head:
                w.contradictions.append({"stream": stream, "stream_seq": seq, "event_id": None,
                                         "problem": f"anchor {a.seq} holds another head than an earlier anchor"})
        if a is until:
            break
    return w


def send(ctx: ServiceContext, anchor: AuditAnchor) -> str | None:
    """Give the anchor to the witness, when one is configured; the error, if it did not take it."""
    url = ctx.settings.anchor_url
    if not url:
        return None
    error: str | None = None
    try:
        send_anchor(url, published(anchor, ctx.store.chain_hash))
    except WitnessError as e:
        error = str(e)[:500]
    with ctx.store.unit_of_work() as uow:
        uow.session.execute(update(AuditAnchor).where(AuditAnchor.seq == anchor.seq).values(
            sent_at=None if error else ctx.now(), send_error=error))
    return error


def resend(ctx: ServiceContext) -> int:
    """Anchors the witness has not taken yet, offered again (oldest first); how many it took."""
    with ctx.store.read() as s:
        waiting = s.scalars(select(AuditAnchor).where(AuditAnchor.sent_at.is_(None))
                            .order_by(AuditAnchor.seq)).all()
    return sum(1 for a in waiting if send(ctx, a) is None) if ctx.settings.anchor_url else 0


def recent(ctx: ServiceContext, limit: int = 10) -> list[dict[str, Any]]:
    with ctx.store.read() as s:
        rows = s.scalars(select(AuditAnchor).order_by(AuditAnchor.seq.desc()).limit(limit)).all()
        return [{**published(a, ctx.store.chain_hash), "heads": len(a.heads), "sent_at": a.sent_at,
                 "send_error": a.send_error} for a in rows]


def check(ctx: ServiceContext, digest: str) -> dict[str, Any]:
    """Does the store still hold the history a digest kept outside commits to? The anchors up to it
    must hash to it, link for link, and each chain must still pass through every head they hold for
    it (each chain is walked from its first event)."""
    with ctx.store.read() as s:
        anchors = s.scalars(select(AuditAnchor).order_by(AuditAnchor.seq)).all()
    target = next((a for a in anchors if a.digest == digest.strip().lower()), None)
    if target is None:
        return _refused(None, "no anchor in the store has this digest (the anchors were rewritten or "
                              "removed, or the digest is not this store's)")
    walk = _walk(ctx, anchors, until=target)
    if walk.problem is not None:
        return _refused(walk.at, walk.problem)
    breaks, events = list(walk.contradictions), 0
    for stream, passes in sorted(walk.passes.items()):
        with ctx.store.read() as s:
            broken, _, _, n = verify_from(s, stream, passes=passes)
        events += n
        if broken is not None:
            breaks.append({**broken.as_dict(), "problem": broken.problem.replace(
                "since it was last verified", f"before anchor {target.seq}")})
    return {"ok": not breaks, "anchor": target.seq, "made_at": target.made_at, "streams_checked": len(walk.passes),
            "events_checked": events, "problem": None, "broken": breaks[:20], "broken_count": len(breaks)}


def _refused(seq: int | None, problem: str) -> dict[str, Any]:
    return {"ok": False, "anchor": seq, "made_at": None, "streams_checked": 0, "events_checked": 0,
            "problem": problem, "broken": [], "broken_count": 0}

