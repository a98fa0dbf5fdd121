"""一案一卷 (docs/reports.md §8): one dispute's case file as a zip an auditor can check with nothing
but the file itself, and the check.

Members (ASCII names): `manifest.json` (dispute, generation time, chain head, the sha256 and size of
every other member), `manifest.sig` (an Ed25519 signature of manifest.json, hex, by a key derived
from the service's secret: `dispute-router archive public-key` prints its public half), `events.json`
(every event with exactly the fields its hash covers plus `hash`), `dispute.json` (the dispute as
staff see it, parties masked, its handoff spans and follow-ups), `events.csv` and `case-file.pdf`.
An archived dispute's bundle is made once and kept (table case_files), so it never changes after.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from router.domain.errors import NotFound
from router.services import pdf, timeline, views
from router.services.context import ServiceContext
from router.settings import Settings
from router.store.chain import GENESIS, hash_of, hashed_fields
from router.store.models import Dispute, Event
from router.store.report_models import CaseFile, DisputeFigures

FORMAT = "dispute-router case file 1"
MEMBERS = ("events.json", "dispute.json", "events.csv", "case-file.pdf")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the bytes depend on the content only


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"dispute-router case file signature v1").derive(settings.secret_key.encode())
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_hex(settings: Settings) -> str:
    return signing_key(settings).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _json(v: Any) -> bytes:
    return json.dumps(v, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode("utf-8")


def _events_csv(ctx: ServiceContext, events: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["stream_seq", "occurred_at", "type", "actor", "handoff_id", "data", "prev_hash", "hash"])
    tz = ctx.config.calendar.tz
    for e in events:
        at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).astimezone(tz).isoformat()
        data = json.dumps(e["data"], ensure_ascii=False, sort_keys=True)
        w.writerow([e["stream_seq"], at, e["type"], e["actor"], e["handoff_id"] or "",
                    ("'" + data) if data.startswith(("=", "+", "-", "@")) else data, e["prev_hash"], e["hash"]])
    return buf.getvalue().encode("utf-8")


def build(ctx: ServiceContext, dispute_id: str) -> bytes:
    """The bundle of the dispute as it stands now."""
    view, tl = views.get_dispute(ctx, dispute_id), timeline.timeline(ctx, dispute_id)
    with ctx.store.read() as s:
        d = s.get(Dispute, dispute_id)
        if d is None:
            raise NotFound("纠纷不存在", "no such dispute")
        events = [{**hashed_fields(e), "hash": e.hash}
                  for e in s.scalars(select(Event).where(Event.stream == dispute_id).order_by(Event.stream_seq))]
        head = {"event_count": d.event_count, "event_head": d.event_head}
    follow_ups = [{"at": e["occurred_at"], "actor": e["actor"], **e["data"]} for e in events
                  if e["type"] == "dispute.follow_up_recorded"]
    generated_at = ctx.now()
    members = {
        "events.json": _json(events),
        "dispute.json": _json({"dispute": view, "spans": tl["spans"], "follow_ups": follow_ups}),
        "events.csv": _events_csv(ctx, events),
        "case-file.pdf": pdf.case_file(ctx, view, tl["spans"], events, follow_ups, generated_at),
    }
    manifest = {"format": FORMAT, "dispute_id": dispute_id, "reference": d.reference, "state": d.state,
                "generated_at": generated_at.isoformat(), "hash_algorithm": "sha256",
                "chain": {**head, "algorithm": "docs/audit-chain.md §2", "hash": ctx.store.chain_hash},
                "members": {n: {"sha256": _sha(b), "bytes": len(b)} for n, b in members.items()},
                "signature": {"algorithm": "ed25519", "member": "manifest.sig",
                              "public_key": public_key_hex(ctx.settings)}}
    manifest_bytes = _json(manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("manifest.json", manifest_bytes),
                           ("manifest.sig", signing_key(ctx.settings).sign(manifest_bytes).hex().encode()),
                           *members.items()]:
            z.writestr(zipfile.ZipInfo(name, ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def kept(ctx: ServiceContext, dispute_id: str) -> bytes | None:
    with ctx.store.read() as s:
        row = s.get(CaseFile, dispute_id)
        return row.bundle if row else None


def keep(ctx: ServiceContext, dispute_id: str) -> bytes:
    """The archived dispute's bundle: the kept one, or made now and kept (the first writer wins)."""
    if (found := kept(ctx, dispute_id)) is not None:
        return found
    bundle = build(ctx, dispute_id)
    with ctx.store.unit_of_work() as uow:
        if uow.session.get(CaseFile, dispute_id, with_for_update=True) is None:
            uow.session.add(CaseFile(dispute_id=dispute_id, created_at=ctx.now(), sha256=_sha(bundle),
                                     size=len(bundle), bundle=bundle))
            return bundle
    return kept(ctx, dispute_id) or bundle


# --------------------------------------------------------------------------- checking a bundle
@dataclass
class Check:
    dispute_id: str | None = None
    reference: str | None = None
    events: int = 0
    signature: str = "absent"  # valid | invalid | absent | unchecked
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.signature == "valid"


def verify(data: bytes, public_key: str | None = None) -> Check:
    """Every member against the manifest, the manifest against its signature (with `public_key`, the
    service's, when given; else the key the manifest names), and the events' hash chain."""
    c = Check()
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        entries = z.infolist()
        files = {i.filename: z.read(i) for i in entries}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        c.problems.append(f"not a readable zip: {e}")
        return c
    names = [i.filename for i in entries]
    for name in sorted({n for n in names if names.count(n) > 1}):  # readers differ on which copy they take
        c.problems.append(f"{name}: more than one member of this name")
    try:
        manifest = json.loads(files["manifest.json"])
    except (KeyError, ValueError) as e:
        c.problems.append(f"manifest.json missing or not JSON: {e}")
        return c
    c.dispute_id, c.reference = manifest.get("dispute_id"), manifest.get("reference")
    c.signature = _signature(files, manifest, public_key, c)
    listed = manifest.get("members") or {}
    for name in sorted(set(files) - {"manifest.json", "manifest.sig"} - set(listed)):
        c.problems.append(f"{name}: not in the manifest")
    for name, meta in sorted(listed.items()):
        if name not in files:
            c.problems.append(f"{name}: missing")
        elif _sha(files[name]) != meta.get("sha256") or len(files[name]) != meta.get("bytes"):
            c.problems.append(f"{name}: does not match its sha256 in the manifest")
    if "events.json" in files:
        _chain(files["events.json"], manifest, c)
    return c


def _signature(files: dict[str, bytes], manifest: dict[str, Any], public_key: str | None, c: Check) -> str:
    if "manifest.sig" not in files:
        c.problems.append("manifest.sig: missing")
        return "absent"
    key = public_key or (manifest.get("signature") or {}).get("public_key")
    if public_key and public_key != (manifest.get("signature") or {}).get("public_key"):
        c.problems.append("manifest: names another signing key than the service's")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(key or "")).verify(
            bytes.fromhex(files["manifest.sig"].decode("ascii").strip()), files["manifest.json"])
        return "valid"
    except (InvalidSignature, ValueError, UnicodeDecodeError):
        c.problems.append("manifest.json: its signature does not verify")
        return "invalid"


def _chain(raw: bytes, manifest: dict[str, Any], c: Check) -> None:
    try:
        events = json.loads(raw)
    except ValueError as e:
        c.problems.append(f"events.json: not JSON: {e}")
        return
    prev, algorithm = GENESIS, (manifest.get("chain") or {}).get("hash", "sha256")
    if algorithm not in ("sha256", "sm3"):
        c.problems.append(f"manifest.json: unknown chain hash {algorithm!r}")
        return
    for i, e in enumerate(events, start=1):
        try:
            if e["stream"] != c.dispute_id or e["stream_seq"] != i:
                c.problems.append(f"events.json: event {i} is out of sequence or of another dispute")
                return
            if e["prev_hash"] != prev:
                c.problems.append(f"events.json: event {i}'s prev_hash does not match event {i - 1}")
                return
            if hash_of(e, algorithm) != e["hash"]:
                c.problems.append(f"events.json: event {i}'s content does not match its hash")
                return
        except (KeyError, TypeError) as err:
            c.problems.append(f"events.json: event {i} lacks a field: {err}")
            return
        prev = e["hash"]
    c.events = len(events)
    head = manifest.get("chain") or {}
    if (head.get("event_count"), head.get("event_head")) != (len(events), prev if events else None):
        c.problems.append("events.json: the chain does not end at the manifest's head (events removed)")


def closed_between(ctx: ServiceContext, start: Any, end: Any) -> list[tuple[str, str]]:
    """(id, reference) of the disputes closed (or since archived) from `start` to `end`, local dates."""
    with ctx.store.read() as s:
        q = (select(Dispute.id, Dispute.reference).join(DisputeFigures, DisputeFigures.dispute_id == Dispute.id)
             .where(DisputeFigures.closed_on >= start, DisputeFigures.closed_on <= end,
                    Dispute.state.in_(["closed", "archived"])).order_by(Dispute.reference))
        return [(r.id, r.reference) for r in s.execute(q)]
