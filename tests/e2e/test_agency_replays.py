"""A signed call's webhook-id (issue 14, item 6): a sender's retry of the very same call gets the
first answer; a replayed pull gets no data; a call that failed validation leaves its id unused."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select

from router.store.models import Event
from tests.builders import lead_of, post_dispute


def _send(live: Any, a: Any, method: str, path: str, body: dict[str, Any] | None, msg_id: str,
          timestamp: int | None = None) -> tuple[Any, dict[str, str], bytes]:
    from router.adapters import signing

    raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    headers = a.signed_headers(signing.signed_payload(method, path, raw), msg_id=msg_id, timestamp=timestamp)
    if body is None:
        headers.pop("Content-Type")
    return live.http.request(method, live.base + path, data=raw or None, headers=headers), headers, raw


def _events(svc: Any) -> int:
    with svc.ctx.store.read() as s:
        return int(s.scalar(select(func.count()).select_from(Event)))


def test_a_retried_event_gets_its_first_answer_and_changes_nothing(live, svc, agencies):
    h = lead_of(post_dispute(live, svc))
    a = agencies(h["agency"])
    path = f"/api/v1/agency/handoffs/{h['id']}/events"
    first, headers, raw = _send(live, a, "POST", path, {"handoff_id": h["id"], "event_id": "e-1",
                                                        "type": "acknowledged"}, "msg_retry_1")
    assert first.status_code == 200, first.text
    before = _events(svc)
    again = live.http.post(live.base + path, data=raw, headers=headers)  # byte for byte the same call
    assert again.status_code == 200 and again.json() == first.json()
    assert _events(svc) == before


def test_a_used_webhook_id_with_another_body_is_refused(live, svc, agencies):
    h = lead_of(post_dispute(live, svc))
    a = agencies(h["agency"])
    path = f"/api/v1/agency/handoffs/{h['id']}/events"
    ok, _, _ = _send(live, a, "POST", path, {"handoff_id": h["id"], "event_id": "e-2", "type": "acknowledged"},
                     "msg_reuse_1")
    assert ok.status_code == 200
    other, _, _ = _send(live, a, "POST", path, {"handoff_id": h["id"], "event_id": "e-3", "type": "progress"},
                        "msg_reuse_1")
    assert other.status_code == 401


def test_a_replayed_pull_gets_no_data(live, svc, agencies):
    h = lead_of(post_dispute(live, svc))
    a = agencies(h["agency"])
    path = f"/api/v1/agency/handoffs/{h['id']}"
    first, headers, _ = _send(live, a, "GET", path, None, "msg_pull_1")
    assert first.status_code == 200 and first.json()["referral"]
    again = live.http.get(live.base + path, headers=headers)
    assert again.status_code == 401 and "referral" not in again.text


def test_a_call_that_failed_validation_leaves_its_webhook_id_unused(live, svc, agencies):
    h = lead_of(post_dispute(live, svc))
    a = agencies(h["agency"])
    path = f"/api/v1/agency/handoffs/{h['id']}/events"
    bad, _, _ = _send(live, a, "POST", path, {"handoff_id": h["id"], "event_id": "e-4", "type": "returned"},
                      "msg_fix_1")  # returned needs a reason and a basis
    assert bad.status_code == 422, bad.text
    fixed, _, _ = _send(live, a, "POST", path, {"handoff_id": h["id"], "event_id": "e-4", "type": "acknowledged"},
                        "msg_fix_1")
    assert fixed.status_code == 200, fixed.text


def test_a_refusal_is_an_answer_too(live, svc, agencies):
    """A 409 (not allowed in the state) is given again to the retry, not turned into a 401."""
    h = lead_of(post_dispute(live, svc))
    a = agencies(h["agency"])
    path = f"/api/v1/agency/handoffs/{h['id']}/events"
    assert _send(live, a, "POST", path, {"handoff_id": h["id"], "event_id": str(uuid.uuid4()),
                                         "type": "acknowledged"}, "msg_409_0")[0].status_code == 200
    body = {"handoff_id": h["id"], "event_id": str(uuid.uuid4()), "type": "acknowledged"}
    first, headers, raw = _send(live, a, "POST", path, body, "msg_409_1")
    again = live.http.post(live.base + path, data=raw, headers=headers)
    assert first.status_code == again.status_code and again.json() == first.json(), (first.text, again.text)
