"""Found by the review of the inbound referrals (issue 12, POST /api/v1/intake/referral): each test
failed before its fix; its docstring says what was wrong and why it matters."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import yaml

from router.domain.bodies import Bodies
from router.domain.errors import ConfigError
from router.services import pdf, timeline
from router.store.models import Outbox
from tests.builders import CLERK, ROOT, SUPERVISOR, body, command, county, lead_of, report


def _agency_of(svc, body_type: str) -> str:
    centre = svc.ctx.config.divisions.centre.code[:6]
    codes = sorted(c for c, a in svc.ctx.registry().by_code.items() if str(a.body_type) == body_type and a.active)
    return next((c for c in codes if centre in c), codes[0])


def _referral(b: dict[str, Any], **kw: Any) -> dict[str, Any]:
    b = {k: v for k, v in b.items() if k not in ("source", "source_ref")}
    return {**b, **kw}


def _outbox(svc, dispute_id: str) -> list[tuple[str, dict[str, Any]]]:
    with svc.ctx.store.read() as s:
        return [(o.kind, o.payload) for o in s.query(Outbox).filter(Outbox.dispute_id == dispute_id)
                .order_by(Outbox.seq)]


def _court_referral(svc, agencies, number: str, **details: Any) -> dict[str, Any]:
    r = agencies(_agency_of(svc, "court")).request("POST", "/api/v1/intake/referral", _referral(
        body(county(svc)["v"], "CONTRACT"), referral_no=number, details={"case_no": number, **details}))
    assert r.status_code == 201, r.text
    return r.json()


# ---------------------------------------------------------------- notices to the sender
def test_a_referral_merged_into_another_dispute_never_hears_its_result(live, svc, agencies):
    """router/services/notices.py:33-35: when a dispute closes, only the registrations merged into it
    (并单) with `source == "hotline"` get the end (`_reply_for_merged`). A court/police/petition
    referral held as a likely repeat and merged gets one `referral.status` "merged" and then nothing,
    ever: the court that delegated the case (诉前委派) never receives its 委派调解结果反馈, so its own
    procedure waits forever. docs/agency-guide.md promises every sender "the end as referral.result"."""
    b = body(county(svc)["v"], "CONTRACT")
    first = svc.register_dispute(command(b), CLERK)[1]  # the same parties at the window first
    number = "(2026)浙0681民诉前调501号"
    r = agencies(_agency_of(svc, "court")).request("POST", "/api/v1/intake/referral", _referral(
        b, referral_no=number, details={"case_no": number}))
    assert r.status_code == 201, r.text
    ref = r.json()
    assert ref["state"] == "held_duplicate"
    svc.decide_duplicate(ref["id"], "merge", "同一纠纷", CLERK)
    svc.act(first["id"], {"action": "close", "reason": "双方已和解"}, SUPERVISOR)
    kinds = [k for k, _ in _outbox(svc, ref["id"])]
    assert "referral.result" in kinds, f"the court heard only {kinds} about its referral {number}"


def test_archiving_a_closed_referral_sends_a_status_after_the_result(live, svc, agencies):
    """router/services/notices.py:35: every transition not in QUIET_STATES is told to the sender, so
    归档 (closed -> archived, days after the end) sends a `referral.status` "archived" after the
    final `referral.result`, with status_text the raw code "archived" (STATUS_ZH has no entry). The
    sender's system sees a progress notice on a case it already recorded as finished."""
    d = _court_referral(svc, agencies, "(2026)浙0681民诉前调502号")
    lead = lead_of(d)
    report(svc, lead, "acknowledged")
    report(svc, lead, "outcome", outcome={"result": "failed"})
    assert svc.get_dispute(d["id"])["closure"]["code"] == "returned_to_court"
    svc.act(d["id"], {"action": "archive", "reason": "归档"}, SUPERVISOR)
    kinds = [(k, p.get("status")) for k, p in _outbox(svc, d["id"]) if k.startswith("referral.")]
    last_result = max(i for i, (k, _) in enumerate(kinds) if k == "referral.result")
    assert kinds[last_result + 1:] == [], f"notices after the result: {kinds[last_result + 1:]}"


def test_an_unperformed_agreement_guided_to_litigation_is_reported_resolved(live, svc, agencies, clock):
    """router/adapters/referrals.py:38: `resolved` is `outcome.result == "agreement"` whatever the
    closure. An agreement that was never performed (unfulfilled -> 引导诉讼, closure
    guided_to_litigation "协议未履行") still reaches the court as `resolved: true` with the
    agreement's terms, while result_text says "调解不成，已引导诉讼". A court acting on `resolved`
    (docs: "so a court can confirm or proceed") would treat a failed case as settled. The 12345 回单
    (hotline_12345.final_reply) requires the follow-up closure as well."""
    d = _court_referral(svc, agencies, "(2026)浙0681民诉前调503号")
    lead = lead_of(d)
    report(svc, lead, "acknowledged")
    fulfil_by = (clock.now + timedelta(days=10)).astimezone(svc.ctx.config.calendar.tz).date().isoformat()
    report(svc, lead, "outcome", outcome={"result": "agreement", "agreement": {
        "terms": "分两期付清货款", "amount": "8000.00", "fulfil_by": fulfil_by}})
    clock.advance(days=12)
    svc.run_due_timers()
    assert svc.get_dispute(d["id"])["state"] == "unfulfilled"
    svc.act(d["id"], {"action": "guide_to_litigation", "reason": "对方拒不履行"}, SUPERVISOR)
    (result,) = [p for k, p in _outbox(svc, d["id"]) if k == "referral.result"]
    assert result["result"] == "guided_to_litigation"
    assert result["resolved"] is False, result


# ---------------------------------------------------------------- the dispute page and the case file
def test_the_page_shows_a_police_referral_without_violence_as_false(live, svc, agencies, supervisor):
    """router/web/templates/dispute/page.html:26: `v if v is not sameas true else '是'` prints the
    value False, then `{% if v is sameas false %}否` appends 否: every police referral (violence
    defaults to false in PoliceDetailsIn) reads "涉及暴力：False否" on the 转入单位 line."""
    r = agencies(_agency_of(svc, "police")).request("POST", "/api/v1/intake/referral", _referral(
        body(county(svc)["v"], "CONTRACT"), referral_no="JQ20261123501", details={"incident_no": "JQ20261123501"}))
    assert r.status_code == 201, r.text
    page = supervisor.get(f"/disputes/{r.json()['id']}").get_data(as_text=True)
    assert "涉及暴力：False" not in page and "涉及暴力：否" in page


def test_the_page_shows_a_court_referral_without_cause_as_none(live, svc, agencies, supervisor):
    """router/web/templates/dispute/page.html:26 with router/schemas/referral_in.py:31: `cause`
    loads as None when the court leaves it out (it is optional), and the page prints every details
    key, so the 转入单位 line reads "案由：None"."""
    d = _court_referral(svc, agencies, "(2026)浙0681民诉前调504号")
    page = supervisor.get(f"/disputes/{d['id']}").get_data(as_text=True)
    assert "案由：None" not in page


def test_the_case_file_names_returned_to_court_by_its_code(live, svc, agencies):
    """router/services/pdf.py:23: CLOSURE_ZH has no entry for the new closure `returned_to_court`,
    so the sealed 一案一卷 (case-file.html 办结情况 / 办结方式) prints the English code
    "returned_to_court" for every failed court referral."""
    d = _court_referral(svc, agencies, "(2026)浙0681民诉前调505号")
    lead = lead_of(d)
    report(svc, lead, "acknowledged")
    report(svc, lead, "outcome", outcome={"result": "failed"})
    view = svc.get_dispute(d["id"])
    assert view["closure"]["code"] == "returned_to_court"
    html = pdf.case_file_html(svc.ctx, view, timeline.timeline(svc.ctx, d["id"])["spans"], [], [], svc.ctx.now())
    assert "returned_to_court" not in html


# ---------------------------------------------------------------- configuration
def test_a_body_type_allowed_to_refer_without_a_source_is_a_500(live, svc, agencies, monkeypatch):
    """router/api/agency.py:159 `SOURCE_OF[body_type]`: bodies.yaml accepts `may_refer: true` on any
    body type (router/domain/bodies.py only checks it is a bool) and the docs say that is all it takes,
    but router/adapters/referrals.py SOURCE_OF names only six; an agency of any other type that the
    config lets refer (legal_aid here) gets a KeyError, a 500, instead of a refused config at start."""
    types = svc.ctx.config.bodies.types
    key = next(k for k in types if str(k) == "legal_aid")
    monkeypatch.setitem(types, key, replace(types[key], may_refer=True))  # as a bodies.yaml line would
    r = agencies(_agency_of(svc, "legal_aid")).request("POST", "/api/v1/intake/referral", _referral(
        body(county(svc)["v"], "CONTRACT"), referral_no="FY-2026-501"))
    assert r.status_code == 403, r.text
    data = yaml.safe_load((ROOT / "config" / "bodies.yaml").read_text(encoding="utf-8"))
    data["body_types"]["legal_aid"]["may_refer"] = True
    with pytest.raises(ConfigError, match="may_refer"):  # and a bodies.yaml that says so is refused at start
        Bodies.from_mapping(data)

