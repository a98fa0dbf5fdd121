"""Found by the review of 并单 on the web pages (issue 11): failed before its fix."""

from __future__ import annotations

import re

from router.domain.errors import DomainError
from tests.builders import CLERK, body, command, county
from tests.e2e.web_client import csrf_of


def test_a_decision_refused_because_someone_else_decided_first_shows_no_message(clerk, svc):
    """router/web/duplicates.py answers a refused decision with the dispute page and the error under
    `duplicate_errors["decision"]`, but dispute/page.html only renders those errors inside the 并单核实
    section, which exists only while the state is held_duplicate or merged. When a colleague has just
    confirmed the registration distinct (it routed: handed_off), the clerk who clicks 并单 on the page
    still open in the browser gets a 409 page with the section gone and no word of why nothing
    happened: the refusal "该纠纷…" is computed and then silently dropped."""
    b = body(county(svc)["v"])
    svc.register_dispute(command(b), CLERK)
    held = svc.register_dispute(command({**b, "summary": "又来登记"}), CLERK)[1]
    page = clerk.get(f"/disputes/{held['id']}").text
    token = csrf_of(page)
    svc.decide_duplicate(held["id"], "distinct", "另一件事", CLERK)  # a colleague, meanwhile
    try:
        svc.decide_duplicate(held["id"], "merge", "同一纠纷", CLERK)
    except DomainError as e:
        expected = e.message_zh
    r = clerk.post(f"/disputes/{held['id']}/duplicate",
                   data={"csrf_token": token, "decision": "merge", "reason": "同一纠纷"})
    assert r.status_code == 409
    shown = re.sub(r"<[^>]+>", "", r.text)
    assert expected in shown or 'role="alert"' in r.text, "the 409 page says nothing about the refusal"
