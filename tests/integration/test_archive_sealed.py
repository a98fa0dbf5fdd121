"""An archived dispute changes no more (docs/reports.md §8): its own chain ends with its archiving, so
its kept case file stays at the head; later records go on the system chain. The verifier accepts only
what the manifest signs (found by the issue-10 review; each failed before its fix)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest
from sqlalchemy import func, select

from router.adapters.base import SendResult
from router.services import Actor
from router.store.chain import SYSTEM_STREAM
from router.store.models import Delivery, Dispute, Event
from tests.builders import lead_of, register

SUP = Actor("user", "probe-supervisor", "supervisor")


def _head(svc, dispute_id: str) -> tuple[int, str, int]:
    with svc.ctx.store.read() as s:
        d = s.get(Dispute, dispute_id)
        n = s.scalar(select(func.count()).select_from(Event).where(Event.stream == dispute_id))
        return d.event_count, d.event_head, n


def _system_records(svc, dispute_id: str, type_: str) -> list[Event]:
    with svc.ctx.store.read() as s:
        return list(s.scalars(select(Event).where(Event.stream == SYSTEM_STREAM, Event.dispute_id == dispute_id,
                                                  Event.type == type_)))


def _archive(svc, d) -> None:
    svc.act(d["id"], {"action": "close", "reason": "中心办结"}, SUP)
    svc.act(d["id"], {"action": "archive", "reason": "结案归档"}, SUP)
    assert svc.get_dispute(d["id"])["state"] == "archived"


def _kept_manifest(svc, dispute_id: str) -> dict:
    bundle, _ = svc.case_file(dispute_id)
    return json.loads(zipfile.ZipFile(io.BytesIO(bundle)).read("manifest.json"))


def test_a_warning_cleared_after_archiving_leaves_the_sealed_chain_alone(svc, clock):
    """A flagged dispute archived between two warning refreshes: the signal is cleared on the system chain,
    naming the dispute, and the kept case file still ends at the dispute's head."""
    d = register(svc, risk_flags=["violence_threat"])
    svc.refresh_warnings()                      # flagged_open raised on the dispute's chain
    _archive(svc, d)
    before = _head(svc, d["id"])
    svc.refresh_warnings()                      # the signal no longer holds: cleared ... on the sealed chain
    after = _head(svc, d["id"])
    assert after == before, "an archived dispute's chain grew after it was archived"
    m = _kept_manifest(svc, d["id"])
    assert (m["chain"]["event_count"], m["chain"]["event_head"]) == after[:2], \
        "the kept case file no longer ends at the dispute's chain head"
    assert _system_records(svc, d["id"], "warning.cleared")
    assert svc.verify_chain()["ok"], svc.verify_chain()


def test_an_agency_pulling_a_handoff_of_an_archived_dispute_gets_no_parties_and_adds_nothing(svc, clock):
    """The lead of a sealed case pulls it again: it sees what happened, not the parties (no reveal)."""
    d = register(svc)
    h = lead_of(d)
    svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": "acknowledged"})
    clock.advance(days=1)
    svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": "outcome",
                                            "outcome": {"result": "failed"}})  # -> guided to litigation, closed
    assert svc.get_dispute(d["id"])["state"] == "closed"
    svc.act(d["id"], {"action": "archive", "reason": "结案归档"}, SUP)
    before = _head(svc, d["id"])
    answer = svc.agency_handoff(h["agency"], h["id"])
    assert _head(svc, d["id"]) == before, "a GET by the agency appended an event to an archived dispute"
    assert answer.get("referral") is None and not _system_records(svc, d["id"], "pii.revealed")


# ---------------------------------------------------------------- the verifier
def _rezip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def test_the_verifier_refuses_a_zip_with_two_members_of_one_name(svc, clock):
    """Two `events.json` in one zip, the first forged: readers differ on which copy they take, so a
    duplicate name is a problem whatever the last copy says."""
    d = register(svc)
    bundle, _ = svc.case_file(d["id"])
    z = zipfile.ZipFile(io.BytesIO(bundle))
    genuine = [(i.filename, z.read(i)) for i in z.infolist()]
    forged_events = json.loads(dict(genuine)["events.json"])
    forged_events[0]["data"]["summary"] = "伪造的内容"
    with pytest.warns(UserWarning):  # zipfile itself warns: "Duplicate name: 'events.json'"
        forged = _rezip([("events.json", json.dumps(forged_events).encode()), *genuine])
    names = [i.filename for i in zipfile.ZipFile(io.BytesIO(forged)).infolist()]
    assert names.count("events.json") == 2
    check = svc.check_case_file(forged)
    assert not check.ok, "a zip with two events.json members (one forged) verifies as ok"
    assert "events.json: more than one member of this name" in check.problems


def test_a_recall_notice_delivered_after_archiving_is_recorded_on_the_system_chain(svc, clock):
    """Closing queues a 撤回 notice to the agency that had the file; archived before the worker sends it,
    the delivery is recorded on the system chain (naming the dispute), not on the sealed one."""
    d = register(svc)
    h = lead_of(d)
    svc.agency_event(h["agency"], h["id"], {"event_id": uuid.uuid4().hex, "type": "acknowledged"})
    _archive(svc, d)                            # close (recall queued) and archive at once
    with svc.ctx.store.read() as s:
        pending = s.scalars(select(Delivery.id).where(Delivery.dispute_id == d["id"], Delivery.state == "pending",
                                                      Delivery.kind == "handoff.recalled")).all()
    assert pending, "the recall notice should be waiting for the worker"
    before = _head(svc, d["id"])
    job = svc.claim_delivery(pending[0], "probe-worker")
    assert job is not None
    svc.record_attempt(job, SendResult("delivered", 200, None, None, 0.01))
    assert _head(svc, d["id"]) == before, "the delivery worker appended an event to an archived dispute"
    assert _system_records(svc, d["id"], "notice.delivered")
    assert svc.verify_chain()["ok"], svc.verify_chain()
