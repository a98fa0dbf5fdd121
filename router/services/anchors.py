"""Audit anchors (docs/audit-chain.md §7): once a day, the verified heads of every chain that moved
since the day before, chained to the previous anchor by digest, so that one 64-character digest
commits to the verified history of the whole store up to then.

The checkpoints (services/audit.py) stop someone who can write the database but lacks the secret;
whoever holds both could rewrite a chain and re-sign its checkpoint. An anchor's digest kept
outside (printed for the file, or sent to a witness: ROUTER_ANCHOR_URL) stops them too: the store's
anchors must still hash to that digest, and every chain must still pass through the head each of
them holds."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from router.adapters.witness import WitnessError, send_anchor
from router.services import audit
from router.services.context import ServiceContext
from router.store.chain import GENESIS, canonical_time, verify_from
from router.store.models import AuditAnchor, AuditCheckpoint

EVERY = timedelta(hours=20)  # the daily anchor, whichever scheduler (of several) gets there first


def digest_of(seq: int, made_at: str, prev: str, heads: list[list[Any]]) -> str:
    """SHA-256 of the anchor's canonical JSON: what a witness can recompute from `published`."""
    body = {"seq": seq, "made_at": made_at, "prev_digest": prev, "heads": heads}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode()).hexdigest()


def published(a: AuditAnchor) -> dict[str, Any]:
    """The anchor as printed and sent: enough to recompute its digest."""
    return {"seq": a.seq, "made_at": canonical_time(a.made_at), "prev_digest": a.prev_digest, "digest": a.digest,
            "streams": a.streams, "heads": a.heads}


def make(ctx: ServiceContext, *, force: bool = False) -> AuditAnchor | None:
    """A new anchor of the checkpoints moved since the last one; None when the last is recent
    (`force`: make one anyway) or another process made it at the same moment. A checkpoint whose
    MAC does not hold is left out: an anchor vouches only for what was verified."""
    at = ctx.now()
    cp = AuditCheckpoint
    try:
        with ctx.store.unit_of_work() as uow:
            s = uow.session
            last = s.scalars(select(AuditAnchor).order_by(AuditAnchor.seq.desc()).limit(1)).first()
            if last is not None and not force and at - last.made_at < EVERY:
                return None
            moved = [p for p in s.scalars(select(cp).where(or_(cp.anchored_seq.is_(None), cp.anchored_seq != cp.seq))
                                          .order_by(cp.stream)) if trusted(ctx, p)]
            heads = [[p.stream, p.seq, p.hash] for p in moved]
            seq, prev = (last.seq + 1, last.digest) if last is not None else (1, GENESIS)
            for p in moved:  # a checkpoint that moves on meanwhile goes into the next anchor
                s.execute(update(cp).where(cp.stream == p.stream, cp.seq == p.seq).values(anchored_seq=p.seq))
            streams = s.scalar(select(func.count()).select_from(cp).where(cp.anchored_seq.is_not(None))) or 0
            anchor = AuditAnchor(seq=seq, made_at=at, prev_digest=prev, heads=heads, streams=streams,
                                 digest=digest_of(seq, canonical_time(at), prev, heads))
            s.add(anchor)
        return anchor
    except IntegrityError:  # another scheduler made this anchor first
        return None


def send(ctx: ServiceContext, anchor: AuditAnchor) -> str | None:
    """Give the anchor to the witness, when one is configured; the error, if it did not take it."""
    url = ctx.settings.anchor_url
    if not url:
        return None
    error: str | None = None
    try:
        send_anchor(url, published(anchor))
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
        return [{**published(a), "heads": len(a.heads), "sent_at": a.sent_at, "send_error": a.send_error}
                for a in rows]


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
    prev, heads = GENESIS, {}
    for n, a in enumerate(anchors, 1):
        if a.seq != n:
            return _refused(n, f"anchor {n} is missing")
        if a.prev_digest != prev or digest_of(a.seq, canonical_time(a.made_at), a.prev_digest, a.heads) != a.digest:
            return _refused(a.seq, f"anchor {a.seq} altered: it no longer hashes to its digest or its link")
        prev = a.digest
        for stream, seq, head in a.heads:
            heads.setdefault(stream, {})[seq] = head
        if a is target:
            break
    breaks, events = [], 0
    for stream, passes in sorted(heads.items()):
        with ctx.store.read() as s:
            broken, _, _, n = verify_from(s, stream, passes=passes)
        events += n
        if broken is not None:
            breaks.append({**broken.as_dict(), "problem": broken.problem.replace(
                "since it was last verified", f"before anchor {target.seq}")})
    return {"ok": not breaks, "anchor": target.seq, "made_at": target.made_at, "streams_checked": len(heads),
            "events_checked": events, "problem": None, "broken": breaks[:20], "broken_count": len(breaks)}


def _refused(seq: int | None, problem: str) -> dict[str, Any]:
    return {"ok": False, "anchor": seq, "made_at": None, "streams_checked": 0, "events_checked": 0,
            "problem": problem, "broken": [], "broken_count": 0}


def trusted(ctx: ServiceContext, point: AuditCheckpoint) -> bool:
    return audit.distrust(ctx, point) is None


