"""一案一卷 over real HTTP (docs/reports.md §8): the bundle of a closed and archived dispute, checked by
an independent verifier written from docs/audit-chain.md alone (no router code), every member's
sha256, a byte altered anywhere, the PDF's text (pdftotext), and a sealed dispute refusing more."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import uuid
import zipfile
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.builders import act, body, county, lead_of
from tests.scenarios import agreement

GENESIS = "0" * 64
HASHED = ("id", "stream", "stream_seq", "dispute_id", "handoff_id", "type", "actor", "data", "prev_hash")


# ---------------------------------------------------------------- the auditor's verifier (docs only)
def canonical_time(value: str) -> str:
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(e: dict) -> str:
    body = {k: e[k] for k in HASHED} | {"occurred_at": canonical_time(e["occurred_at"])}
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def audit(bundle: bytes, public_key: str) -> list[str]:
    """Every problem an auditor finds with nothing but the zip and the service's public key."""
    z = zipfile.ZipFile(io.BytesIO(bundle))
    files = {n: z.read(n) for n in z.namelist()}
    problems = []
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(files["manifest.sig"].decode()), files["manifest.json"])
    except Exception:  # noqa: BLE001 - any failure is a failed signature
        problems.append("signature")
    manifest = json.loads(files["manifest.json"])
    for name, meta in manifest["members"].items():
        if hashlib.sha256(files[name]).hexdigest() != meta["sha256"]:
            problems.append(name)
    events, prev = json.loads(files["events.json"]), GENESIS
    for i, e in enumerate(events, start=1):
        if e["stream_seq"] != i or e["prev_hash"] != prev or event_hash(e) != e["hash"]:
            problems.append(f"event {i}")
            break
        prev = e["hash"]
    if (manifest["chain"]["event_count"], manifest["chain"]["event_head"]) != (len(events), prev):
        problems.append("head")
    return problems


# ---------------------------------------------------------------- a dispute from intake to archive
def report(agencies, h, type_, **body):
    r = agencies(h["agency"]).event(h["id"], type_, **body)
    assert r.status_code == 200, r.text
    return r


@pytest.fixture
def archived(live, svc, agencies, clock):
    r = live.post("/api/v1/disputes", body(county(svc)["v"], summary="楼上漏水致楼下受损"))
    d = r.json()
    h = lead_of(d)
    clock.advance(hours=2)
    report(agencies, h, "acknowledged")
    clock.advance(days=2)
    report(agencies, h, "outcome", outcome=agreement("3000.00", fulfil_by="2026-12-20"))
    clock.advance(days=1)
    report(agencies, h, "closed", fulfilment={"fulfilled_on": clock().date().isoformat(), "note": "已赔付"})
    clock.advance(days=1)
    assert act(live, d["id"], action="record_follow_up", reason="电话回访", satisfaction="satisfied").status_code == 200
    clock.advance(hours=1)
    r = act(live, d["id"], action="archive", reason="结案归档")
    assert r.status_code == 200 and r.json()["state"] == "archived", r.text
    return d


def test_the_case_file_of_an_archived_dispute_passes_an_independent_audit(live, svc, archived):
    r = live.get(f"/api/v1/disputes/{archived['id']}/archive")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert set(z.namelist()) == {"manifest.json", "manifest.sig", "events.json", "dispute.json", "events.csv",
                                 "case-file.pdf"}
    assert all(n.isascii() for n in z.namelist())
    manifest = json.loads(z.read("manifest.json"))
    assert (manifest["dispute_id"], manifest["reference"]) == (archived["id"], archived["reference"])
    events = json.loads(z.read("events.json"))
    assert set(events[0]) == {*HASHED, "occurred_at", "hash"}  # exactly what the hash covers, and the hash
    assert events[-1]["type"] == "dispute.archive"
    assert audit(r.content, svc.case_file_key()) == []
    dispute = json.loads(z.read("dispute.json"))["dispute"]
    assert dispute["parties"][0]["id_number"].count("*") >= 8  # masked
    assert z.read("events.csv").decode("utf-8-sig").splitlines()[0].startswith("stream_seq,occurred_at,type")
    # the kept bundle: the same bytes every time, even after the clock moves on
    assert live.get(f"/api/v1/disputes/{archived['id']}/archive").content == r.content


@pytest.mark.parametrize("member", ["manifest.json", "events.json", "dispute.json", "events.csv", "case-file.pdf"])
def test_one_altered_byte_in_any_member_is_caught(live, svc, archived, member):
    bundle = live.get(f"/api/v1/disputes/{archived['id']}/archive").content
    z = zipfile.ZipFile(io.BytesIO(bundle))
    files = {n: z.read(n) for n in z.namelist()}
    data = bytearray(files[member])
    # events.json: one letter of an actor, manifest.json: one digit of its time, so each is still JSON and
    # only the content changed
    inside = {"events.json": b'"actor": "', "manifest.json": b'"generated_at": "'}.get(member)
    i = data.index(inside) + len(inside) if inside else len(data) // 2
    data[i] = (data[i] + 1) % 256
    files[member] = bytes(data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as w:
        for n, b in files.items():
            w.writestr(n, b)
    assert audit(out.getvalue(), svc.case_file_key()) != []
    assert not svc.check_case_file(out.getvalue()).ok
    assert svc.check_case_file(bundle).ok


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_pdf_names_the_reference_and_the_receiving_agency(live, svc, archived):
    bundle = live.get(f"/api/v1/disputes/{archived['id']}/archive").content
    pdf = zipfile.ZipFile(io.BytesIO(bundle)).read("case-file.pdf")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    text = text.decode("utf-8")
    agency = svc.agency_names()[lead_of(archived)["agency"]]
    assert archived["reference"] in text and agency in text
    for heading in ("卷内目录", "受理登记表", "分流依据", "调解协议", "回访记录", "全部事件"):
        assert heading in text
    pages, flat = text.count("\f"), "".join(text.split())
    assert pages >= 3 and f"第1页共{pages}页" in flat and f"第{pages}页共{pages}页" in flat


def test_an_archived_dispute_accepts_nothing_more(live, svc, agencies, archived):
    h = lead_of(svc.get_dispute(archived["id"]))
    r = agencies(h["agency"]).event(h["id"], "progress", note="再报一次")
    assert r.status_code == 409
    for action in ({"action": "reopen", "reason": "x"}, {"action": "record_follow_up", "reason": "x",
                                                         "satisfaction": "satisfied"}):
        assert act(live, archived["id"], **action).status_code == 409
    assert act(live, archived["id"], action="archive", reason="again").status_code == 409


def test_only_a_closed_dispute_is_archived(live, svc):
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    assert act(live, d["id"], action="archive", reason="归档").status_code == 409
    r = live.get(f"/api/v1/disputes/{d['id']}/archive")  # an open dispute's file: made on request, not kept
    assert r.status_code == 200 and svc.check_case_file(r.content).ok
    assert live.get(f"/api/v1/disputes/{uuid.uuid4()}/archive").status_code == 404
    assert live.get(f"/api/v1/disputes/{d['id']}/archive", role="clerk").status_code == 403
