"""A signed agency call is bound to what it acts on (issue 14, item 6; the probe's reproductions):
a body-less call is signed over `METHOD target`, an event body names its handoff, checked against
the path. Signed with the Standard Webhooks reference library, as an agency would."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.builders import lead_of, post_dispute


def _headers(a: Any, payload: str, *, msg_id: str | None = None, at: datetime | None = None) -> dict[str, str]:
    """What an agency's code sends, signing `payload` with the reference library."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.fromtimestamp(int(a.now()), UTC)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(a.secret).sign(msg_id, at, payload), "X-Router-Key": a.key_id}


def test_the_reference_library_signs_a_get_over_its_method_and_target(live, svc, agencies):
    lead = lead_of(post_dispute(live, svc))
    a = agencies(lead["agency"])
    for target in ("/api/v1/agency/handoffs?state=delivered", f"/api/v1/agency/handoffs/{lead['id']}",
                   "/api/v1/agency/feed?since=0&limit=10"):
        r = live.http.get(live.base + target, headers=_headers(a, f"GET {target}"))
        assert r.status_code == 200, (target, r.text)


def test_a_get_signed_for_one_target_opens_no_other(live, svc, agencies):
    """The probe: an empty-body GET's signature reused on GET /agency/handoffs/{Z} returned Z's
    unmasked parties. Now the signature names its target; any other is 401."""
    first, second = lead_of(post_dispute(live, svc)), lead_of(post_dispute(live, svc))
    a = agencies(first["agency"])
    assert second["agency"] == first["agency"]
    signed = _headers(a, f"GET /api/v1/agency/handoffs/{first['id']}")
    r = live.http.get(f"{live.base}/api/v1/agency/handoffs/{second['id']}", headers=signed)
    assert r.status_code == 401 and "parties" not in r.text
    for other in ("/api/v1/agency/handoffs", "/api/v1/agency/feed?since=0", "/api/v1/agency/feed?since=1"):
        sig = _headers(a, "GET /api/v1/agency/feed?since=0")
        if other == "/api/v1/agency/feed?since=0":
            assert live.http.get(live.base + other, headers=sig).status_code == 200
        else:
            assert live.http.get(live.base + other, headers=sig).status_code == 401, other
    empty = _headers(a, "")  # the old rule (an empty body signed) no longer opens anything
    assert live.http.get(f"{live.base}/api/v1/agency/handoffs", headers=empty).status_code == 401


def test_an_event_signed_for_one_handoff_is_refused_on_another(live, svc, agencies):
    """The probe: a `progress` signed for handoff X was accepted on handoff Y. The body names X; the
    path says Y: 422 on the field, and nothing recorded on Y."""
    x, y = lead_of(post_dispute(live, svc)), lead_of(post_dispute(live, svc))
    a = agencies(x["agency"])
    raw = json.dumps({"handoff_id": x["id"], "event_id": str(uuid.uuid4()), "type": "acknowledged"})
    r = live.http.post(f"{live.base}/api/v1/agency/handoffs/{y['id']}/events", data=raw.encode(),
                       headers={**_headers(a, raw), "Content-Type": "application/json"})
    assert r.status_code == 422 and "handoff_id" in r.json()["error"]["fields"], r.text
    before = y["state"]
    assert a.handoff(y["id"]).json()["state"] == before
    # the same body where it belongs (a fresh webhook-id: the first was used) is taken
    r = live.http.post(f"{live.base}/api/v1/agency/handoffs/{x['id']}/events", data=raw.encode(),
                       headers={**_headers(a, raw), "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert a.handoff(x["id"]).json()["state"] == "acknowledged"


def test_an_event_without_its_handoff_is_a_422(live, svc, agencies):
    x = lead_of(post_dispute(live, svc))
    a = agencies(x["agency"])
    raw = json.dumps({"event_id": str(uuid.uuid4()), "type": "acknowledged"})
    r = live.http.post(f"{live.base}/api/v1/agency/handoffs/{x['id']}/events", data=raw.encode(),
                       headers={**_headers(a, raw), "Content-Type": "application/json"})
    assert r.status_code == 422 and "handoff_id" in r.json()["error"]["fields"], r.text
