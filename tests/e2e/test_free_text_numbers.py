"""ID numbers and phones typed into free text (issue 14 item 8): masked in every output, never
sent to the database in clear, their originals kept encrypted and readable only through the audited
原文调阅; the clerk is warned on the form."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from router.domain.ids import id_number_check_char
from router.store.models import Event, SealedText
from tests.builders import body, county, events_of, lead_of
from tests.e2e.web_client import intake_form, register_on_web, window_token

ID = "11010519900101123" + id_number_check_char("11010519900101123")
PHONE, PHONE2 = "13912345678", "13698765432"
ID_MASK, PHONE_MASK, PHONE2_MASK = "110***********1232", "139****5678", "136****5432"


def clear_of(sent: list[str], *numbers: str) -> bool:
    return not [p for p in sent for n in numbers if n in p]


def _register(live, svc) -> dict[str, Any]:
    summary = f"申请人称对方（身份证{ID}，电话{PHONE}）拖欠工资"
    r = live.post("/api/v1/disputes", body(county(svc)["v"], summary=summary))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_summary_is_masked_in_every_answer_and_never_stored_in_clear(live, svc, agencies, sent):
    d = _register(live, svc)
    masked = f"申请人称对方（身份证{ID_MASK}，电话{PHONE_MASK}）拖欠工资"
    assert d["summary"] == masked
    assert live.get(f"/api/v1/disputes/{d['id']}").json()["summary"] == masked
    assert live.get("/api/v1/disputes").json()["items"][0]["summary"] == masked
    lead = lead_of(d)
    pulled = agencies(lead["agency"]).handoff(lead["id"]).json()
    assert ID not in json.dumps(pulled) and PHONE not in json.dumps(pulled)
    assert clear_of(sent, ID, PHONE), "a number reached the database in clear"
    with svc.ctx.store.read() as s:
        places = [r.place for r in s.scalars(select(SealedText).where(SealedText.dispute_id == d["id"]))]
    assert places == [f"disputes:{d['id']}:summary"]


def test_the_original_is_read_only_through_the_audited_reveal(live, svc):
    d = _register(live, svc)
    found = svc.reveal_originals(d["reference"], operator="张主任", to="某区人民法院",
                                 basis="调取证据通知书（2026）01号")
    summary = f"disputes:{d['id']}:summary"
    assert [(r["place"], r["kinds"]) for r in found] == [(summary, ["id_number", "phone"])]
    assert found[0]["original"] == f"申请人称对方（身份证{ID}，电话{PHONE}）拖欠工资"
    (revealed,) = [e for e in events_of(svc, d["id"], "pii.revealed")]
    assert revealed.actor == "operator:张主任"
    assert revealed.data == {"to": "某区人民法院", "basis": "调取证据通知书（2026）01号", "via": "operator",
                             "fields": [f"disputes:{d['id']}:summary"]}


def test_a_reveal_without_its_basis_is_refused_and_records_nothing(live, svc):
    from router.domain.errors import ValidationError

    d = _register(live, svc)
    with pytest.raises(ValidationError) as e:
        svc.reveal_originals(d["id"], operator="张主任", to="某区人民法院", basis=" ")
    assert e.value.field == "basis"
    assert events_of(svc, d["id"], "pii.revealed") == []


def test_an_agencys_return_reason_is_masked_on_the_handoff_and_in_its_event(live, svc, agencies, sent):
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    r = a.event(lead["id"], "returned", reason=f"当事人已搬走，新电话{PHONE2}", reason_code="other",
                basis="人民调解法第17条")
    assert r.status_code == 200, r.text
    view = live.get(f"/api/v1/disputes/{d['id']}").json()
    first = next(h for h in view["handoffs"] if h["id"] == lead["id"])
    assert first["returned_reason"] == f"当事人已搬走，新电话{PHONE2_MASK}"
    timeline = live.get(f"/api/v1/disputes/{d['id']}/timeline").text
    assert PHONE2 not in timeline and PHONE2_MASK in timeline
    assert clear_of(sent, PHONE2)
    found = svc.reveal_originals(d["id"], operator="张主任", to="当事人本人", basis="个人信息保护法第45条")
    assert {r["original"] for r in found} == {f"当事人已搬走，新电话{PHONE2}"}
    assert {r["place"].split(":")[0] for r in found} == {"events", "handoffs"}


def test_a_supervisors_reason_is_masked_in_the_timeline(live, svc, sent):
    d = live.post("/api/v1/disputes", body(county(svc)["v"])).json()
    r = live.post(f"/api/v1/disputes/{d['id']}/actions", {"action": "urge", "reason": f"请联系{PHONE2}尽快签收"},
                  role="supervisor")
    assert r.status_code == 200, r.text
    urged = [e for e in events_of(svc, d["id"]) if e.data.get("reason", "").startswith("请联系")]
    assert urged and all(e.data["reason"] == f"请联系{PHONE2_MASK}尽快签收" for e in urged)
    assert clear_of(sent, PHONE2)
    with svc.ctx.store.read() as s:
        sealed = s.scalars(select(SealedText).where(SealedText.dispute_id == d["id"])).all()
        ids = {e.id for e in s.scalars(select(Event).where(Event.dispute_id == d["id"]))}
    assert sealed and all(r.place.split(":")[1] in ids for r in sealed)


def test_the_chain_still_verifies_with_masked_text(live, svc):
    _register(live, svc)
    assert svc.verify_chain(full=True)["ok"]


# ---------------------------------------------------------------- the window
def test_the_form_warns_beside_the_summary_before_saving(clerk, svc):
    token = window_token(clerk)
    r = clerk.post("/window/text-check", data={"summary": f"对方电话{PHONE}"}, headers={"X-CSRFToken": token,
                                                                                         "HX-Request": "true"})
    assert r.status_code == 200 and "手机号码" in r.text and 'id="summary-numbers"' in r.text
    quiet = clerk.post("/window/text-check", data={"summary": "楼上漏水"}, headers={"X-CSRFToken": token,
                                                                                     "HX-Request": "true"})
    assert "手机号码" not in quiet.text
    preview = clerk.post("/window", data=intake_form(svc, token, summary=f"对方电话{PHONE}", action="preview"))
    assert preview.status_code == 200 and "这里填有手机号码" in preview.text


def test_a_registration_on_the_web_is_masked_and_says_so(clerk, svc, sent):
    dispute_id, _ = register_on_web(clerk, svc, summary=f"对方身份证{ID}")
    receipt = clerk.get(f"/disputes/{dispute_id}/receipt")
    assert "已按掩码保存" in receipt.text
    page = clerk.get(f"/disputes/{dispute_id}").text
    assert ID_MASK in page and ID not in page
    assert clear_of(sent, ID)


def test_completion_and_follow_up_notes_on_the_web_are_masked(svc, clerk, sent):
    dispute_id, _ = register_on_web(clerk, svc)
    view = svc.get_dispute(dispute_id)
    lead = lead_of(view)
    # the lead returns it as incomplete (材料不全)
    svc.agency_event(lead["agency"], lead["id"], {"event_id": "e-ack", "type": "acknowledged"})
    svc.agency_event(lead["agency"], lead["id"], {"event_id": "e-ret", "type": "returned",
                                                   "reason": "材料不全", "reason_code": "incomplete",
                                                   "basis": "人民调解法第17条"})
    token = window_token(clerk)
    r = clerk.post(f"/disputes/{dispute_id}/completion", data={"csrf_token": token, "note": f"补充联系电话{PHONE2}"})
    assert r.status_code == 303, r.text
    assert "已按掩码保存" in clerk.get(r.headers["Location"]).text
    summary = svc.get_dispute(dispute_id)["summary"]
    assert PHONE2_MASK in summary and PHONE2 not in summary
    assert clear_of(sent, PHONE2)
    assert any(r["original"].endswith(PHONE2) for r in svc.reveal_originals(
        dispute_id, operator="张主任", to="承办单位", basis="补正材料核对"))
