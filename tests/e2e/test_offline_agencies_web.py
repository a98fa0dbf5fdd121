"""The paper hand-over on the dispute page. Found by the issue-11 review; each failed before its fix."""

from __future__ import annotations

from typing import Any

from router.services import Actor
from tests.builders import events_of, lead_of, move_past, register
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


def test_a_notice_held_for_a_paper_agency_is_listed_and_its_hand_over_recorded(clerk, svc, offline):
    d, h = _paper(svc, offline)
    svc.act(d["id"], {"action": "urge", "reason": "请尽快签收", "handoff": h["id"]}, SUP)
    (notice,) = svc.paper_notices(d["id"])
    assert notice["kind"] == "handoff.urged" and notice["reason"] == "请尽快签收"
    html = clerk.get(f"/disputes/{d['id']}").text
    assert "待转交的通知" in html and "催办或督办通知" in html and f'for="notice-by-{notice["id"]}"' in html
    url = f"/disputes/{d['id']}/notices/{notice['id']}/handover"
    blank = clerk.post(url, data={"csrf_token": csrf_of(html), "received_by": " "})
    assert blank.status_code == 422 and f'id="notice-err-{notice["id"]}"' in blank.text
    done = clerk.post(url, data={"csrf_token": csrf_of(html), "received_by": "村委会李主任"})
    assert done.status_code == 303 and svc.paper_notices(d["id"]) == []
    delivered = [e for e in events_of(svc, d["id"], "notice.delivered", data_only=True) if e.get("via") == "paper"]
    assert delivered[0]["received_by"] == "村委会李主任"
    again = clerk.post(url, data={"csrf_token": csrf_of(html), "received_by": "村委会李主任"})
    assert again.status_code == 409 and "已转交或无需转交" in again.text
