"""The paper hand-over on the dispute page. Found by the issue-11 review; each failed before its fix."""

from __future__ import annotations

from typing import Any

from router.services import Actor
from tests.builders import lead_of, move_past, register
from tests.e2e.web_client import csrf_of

SUP = Actor("user", "probe-web-supervisor", "supervisor")


def _paper(svc, offline) -> tuple[dict[str, Any], dict[str, Any]]:
    d = register(svc)
    code = offline("paper", d)
    svc.act(d["id"], {"action": "designate", "agency": code, "reason": "指定纸质单位"}, SUP)
    return d, lead_of(svc.get_dispute(d["id"]))


def test_a_hand_over_refused_because_the_handoff_expired_says_why(clerk, svc, clock, offline):
    """router/web/handover.py puts a StateConflict under errors["handover"], but page.html prints it only
    inside the form of a handoff that is still `offered` (the `paper` list). When the handoff expired
    (or was recalled, or handed over by a colleague) while the clerk had the page open, the answer is a
    422 page with no message at all: the clerk cannot tell why nothing happened."""
    d, h = _paper(svc, offline)
    html = clerk.get(f"/disputes/{d['id']}").text
    move_past(clock, h["ack_due"])
    svc.run_due_timers()
    r = clerk.post(f"/disputes/{d['id']}/handoffs/{h['id']}/paper-handover",
                   data={"csrf_token": csrf_of(html), "received_by": "王五"})
    assert r.status_code in (409, 422)
    assert "无需再登记纸质移交" in r.text, "the refusal's reason is shown nowhere on the page"
