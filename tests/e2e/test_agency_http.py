"""Agency callbacks over real HTTP: signing, pull, every event type and the follow-through they start."""

from __future__ import annotations

import json

from sqlalchemy import select

from router.domain.ids import mask_phone
from router.store.models import Handoff
from tests.builders import act, body, county, events_of, lead_of, post_dispute, view_of

AGREEMENT = {"result": "agreement", "agreement": {"terms": "被申请人于12月31日前支付12000元", "amount": "12000.00",
                                                   "fulfil_by": "2026-12-31"}}


# --------------------------------------------------------------------------- authentication
def test_bad_signatures_are_401_without_saying_why(live, svc, agencies, clock):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.pull().status_code == 200
    bodies = []
    stale = int(clock().timestamp()) - 301
    for r in (
        a.request("GET", "/api/v1/agency/handoffs", secrets_=["whsec_" + "QUFB" * 8]),   # wrong secret
        a.request("GET", "/api/v1/agency/handoffs", timestamp=stale),                   # stale timestamp
        a.request("GET", "/api/v1/agency/handoffs", timestamp=stale + 602),             # from the future
        live.http.get(live.base + "/api/v1/agency/handoffs"),                           # no headers at all
    ):
        assert r.status_code == 401, r.text
        bodies.append(r.json())
    assert all(b == bodies[0] for b in bodies) and bodies[0]["error"]["code"] == "unauthorized"
    # a body signed for one payload and sent with another
    raw = json.dumps({"event_id": "e1", "type": "acknowledged"}).encode()
    headers = a.signed_headers(raw)
    r = live.http.post(f"{live.base}/api/v1/agency/handoffs/{lead['id']}/events", headers=headers,
                       data=json.dumps({"event_id": "e1", "type": "returned"}).encode())
    assert r.status_code == 401


def test_a_replayed_webhook_id_is_refused(live, svc, agencies, clock):
    d = post_dispute(live, svc)
    a = agencies(lead_of(d)["agency"])
    assert a.request("GET", "/api/v1/agency/handoffs", msg_id="msg_fixed_1").status_code == 200
    assert a.request("GET", "/api/v1/agency/handoffs", msg_id="msg_fixed_1").status_code == 401
    assert a.request("GET", "/api/v1/agency/handoffs", msg_id="msg_fixed_2").status_code == 200
    from router.services.agency_keys import purge_seen_requests

    assert purge_seen_requests(svc.ctx) == 0  # still inside the window: kept
    clock.advance(seconds=601)
    assert purge_seen_requests(svc.ctx) == 2  # the scheduler's housekeeping forgets them after 2 windows


def test_unknown_or_rotated_out_keys_are_refused(live, svc, agencies):
    from router.testing.agency_client import AgencyClient

    d = post_dispute(live, svc)
    code = lead_of(d)["agency"]
    a = agencies(code)
    fake = AgencyClient(live.base, "k_nosuchkey", a.secret, now=a.now)
    assert fake.pull().status_code == 401
    k2 = svc.rotate_agency_key(code)
    assert a.pull().status_code == 200  # two keys are active during a rotation
    svc.rotate_agency_key(code)
    assert a.pull().status_code == 401  # two rotations later the first key is retired
    assert AgencyClient(live.base, *k2, now=a.now).pull().status_code == 200


# --------------------------------------------------------------------------- pull
def test_an_agency_sees_only_its_own_handoffs(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    other = next(c for c in svc.ctx.registry().by_code if c != lead["agency"])
    mine = agencies(lead["agency"]).pull(state="offered").json()
    assert [h["id"] for h in mine["items"]] == [lead["id"]] and mine["items"][0]["reference"] == d["reference"]
    assert "parties" not in json.dumps(mine)
    stranger = agencies(other)
    assert stranger.pull().json()["items"] == []
    assert stranger.handoff(lead["id"]).status_code == 404
    assert stranger.event(lead["id"], "acknowledged").status_code == 404
    assert stranger.handoff("no-such-id").status_code == 404


def test_the_full_handoff_unmasks_parties_and_the_reveal_is_audited(live, svc, agencies):
    sent = body(county(svc)["v"], "LABOUR")  # labour mediation gets ID numbers and phones
    d = live.post("/api/v1/disputes", sent).json()
    lead = lead_of(d)
    r = agencies(lead["agency"]).handoff(lead["id"])
    assert r.status_code == 200, r.text
    parties = r.json()["referral"]["parties"]
    applicant = sent["parties"][0]
    assert parties[0]["id_number"] == applicant["id_number"] and parties[0]["phone"] == applicant["phone"]
    reveals = events_of(svc, d["id"], "pii.revealed")
    assert len(reveals) == 1 and reveals[0][1] == f"agency:{lead['agency']}"
    assert "parties.0.id_number" in reveals[0][2]["fields"]
    assert live.get(f"/api/v1/disputes/{d['id']}").json()["parties"][0]["phone"] == mask_phone(applicant["phone"])


# --------------------------------------------------------------------------- events
def test_acknowledgement_starts_handling_and_the_handling_clock(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    r = agencies(lead["agency"]).event(lead["id"], "acknowledged", occurred_at="2026-11-23T10:05:00+08:00")
    assert r.status_code == 200, r.text
    assert r.json()["handoff"]["state"] == "acknowledged" and r.json()["handoff"]["handle_due"]
    after = view_of(live, d)
    assert after["state"] == "in_handling" and lead_of(after)["acknowledged_at"]
    again = agencies(lead["agency"]).event(lead["id"], "acknowledged")
    assert again.status_code == 409 and again.json()["error"]["state"] == "acknowledged"


def test_the_same_event_id_is_answered_once(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    first = a.event(lead["id"], "acknowledged", event_id="evt-1", note="已签收")
    second = a.event(lead["id"], "acknowledged", event_id="evt-1", note="已签收")
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert len(events_of(svc, d["id"], "handoff.acknowledge")) == 1
    other = a.event(lead["id"], "progress", event_id="evt-1")
    assert other.status_code == 409 and "event_id" in other.json()["error"]["fields"]


def test_a_return_needs_reason_and_basis_and_reroutes(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    r = a.event(lead["id"], "returned", reason="不属于本村")
    assert r.status_code == 422 and "basis" in r.json()["error"]["fields"]
    r = a.event(lead["id"], "returned", reason="当事人不在本村居住", basis="人民调解法第17条")
    assert r.status_code == 200, r.text
    after = view_of(live, d)
    leads = [h for h in after["handoffs"] if h["role"] == "lead"]
    assert leads[0]["state"] == "returned" and leads[0]["returned_reason"] == "当事人不在本村居住"
    assert leads[1]["state"] == "offered" and leads[1]["agency"] != lead["agency"]
    assert after["state"] == "handed_off"
    r = a.event(lead["id"], "outcome", outcome=AGREEMENT)  # outcome on a returned handoff
    assert r.status_code == 409 and r.json()["error"]["state"] == "returned"


def test_three_failed_placements_go_to_supervisors(live, svc, agencies):
    d = post_dispute(live, svc)
    seen = []
    for _ in range(3):
        after = view_of(live, d)
        lead = lead_of(after)
        assert lead["state"] == "offered" and lead["agency"] not in seen
        seen.append(lead["agency"])
        assert agencies(lead["agency"]).event(lead["id"], "returned", reason="非本单位职责",
                                              basis="职责规定").status_code == 200
    after = view_of(live, d)
    assert after["state"] == "needs_supervisor"
    assert all(h["state"] == "returned" for h in after["handoffs"] if h["role"] == "lead")


def test_a_return_after_its_window_is_409(live, svc, agencies, clock):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    clock.advance(days=30)
    r = a.event(lead["id"], "returned", reason="太难", basis="无")
    assert r.status_code == 409 and r.json()["error"]["state"] == "acknowledged"
    assert lead_of(view_of(live, d))["state"] == "acknowledged"


def test_a_designated_handoff_cannot_be_returned(live, svc, agencies):
    d = post_dispute(live, svc)
    first = lead_of(d)["agency"]
    r = act(live, d["id"], action="designate", reason="督办指定", agency=first)
    lead = lead_of(r.json())
    assert lead["designated"] is True
    r = agencies(first).event(lead["id"], "returned", reason="不想办", basis="无")
    assert r.status_code == 409 and r.json()["error"]["state"] == "offered"


def test_an_outcome_before_acknowledgement_implies_it(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    r = agencies(lead["agency"]).event(lead["id"], "outcome", outcome=AGREEMENT)
    assert r.status_code == 200, r.text
    acks = events_of(svc, d["id"], "handoff.acknowledge")
    assert len(acks) == 1 and acks[0][2]["implied"] is True and acks[0][2]["implied_by"] == "outcome"
    after = view_of(live, d)
    assert after["state"] == "fulfilling" and after["outcome"]["agreement"]["fulfil_by"] == "2026-12-31"
    assert lead_of(after)["state"] == "completed"


def test_an_agreement_with_judicial_confirmation_goes_to_the_court(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    outcome = {"result": "agreement", "agreement": {**AGREEMENT["agreement"], "judicial_confirmation": True}}
    assert agencies(lead["agency"]).event(lead["id"], "outcome", outcome=outcome).status_code == 200
    after = view_of(live, d)
    court = next(h for h in after["handoffs"] if h["role"] == "confirm")
    assert after["state"] == "confirming" and court["body_type"] == "court" and court["state"] == "offered"
    r = agencies(court["agency"]).event(court["id"], "outcome", outcome={"result": "agreement"})
    assert r.status_code == 200, r.text
    after = view_of(live, d)
    assert after["state"] == "fulfilling" and after["outcome"]["confirmation"]["confirmed"] is True


def test_a_failed_mediation_without_a_next_body_is_guided_to_court(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    assert a.event(lead["id"], "progress", note="第一次调解").status_code == 200
    assert a.event(lead["id"], "outcome", outcome={"result": "failed"}).status_code == 200
    after = view_of(live, d)
    assert after["state"] == "closed" and after["closure"]["code"] == "guided_to_litigation"
    r = a.event(lead["id"], "closed", note="卷宗归档")
    assert r.status_code == 200 and r.json()["handoff"]["state"] == "closed"


def test_withdrawn_closes_and_close_before_outcome_is_409(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    r = a.event(lead["id"], "closed")
    assert r.status_code == 409
    assert a.event(lead["id"], "outcome", outcome={"result": "withdrawn"}).status_code == 200
    after = view_of(live, d)
    assert after["state"] == "closed" and after["closure"]["code"] == "withdrawn"
    assert all(h["state"] not in ("offered", "delivered") for h in after["handoffs"])


def test_an_assisting_outcome_does_not_decide_the_dispute(live, svc, agencies):
    d = post_dispute(live, svc, risk_flags=["violence_threat"])
    assist = next(h for h in d["handoffs"] if h["role"] == "assist")
    r = agencies(assist["agency"]).event(assist["id"], "outcome", outcome={"result": "failed"})
    assert r.status_code == 200
    after = view_of(live, d)
    assert after["state"] == "handed_off" and lead_of(after)["state"] == "offered"
    assert next(h for h in after["handoffs"] if h["id"] == assist["id"])["state"] == "completed"


def test_silence_past_the_ack_deadline_expires_and_reroutes(live, svc, clock):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    clock.advance(days=10)
    assert svc.run_due_timers() >= 1
    after = view_of(live, d)
    leads = [h for h in after["handoffs"] if h["role"] == "lead"]
    assert leads[0]["state"] == "expired" and leads[1]["state"] == "offered"
    assert leads[1]["agency"] != lead["agency"]
    assert svc.run_due_timers() == 0  # the fired timer does not fire again


# --------------------------------------------------------------------------- supervisor actions
def test_urge_escalate_close_and_reopen(live, svc, agencies):
    d = post_dispute(live, svc)
    r = act(live, d["id"], action="urge", reason="请尽快签收")
    assert r.status_code == 200 and lead_of(r.json())["urged"] == 1
    r = act(live, d["id"], action="escalate", reason="村级调解力量不足")
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["tier"] in ("town", "district") and lead_of(up)["state"] == "offered"
    assert [h["state"] for h in up["handoffs"] if h["role"] == "lead"][0] == "recalled"
    r = act(live, d["id"], action="close", reason="当事人自行和解")
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert r.json()["closure"]["code"] == "closed_by_centre"
    assert act(live, d["id"], action="close", reason="again").status_code == 409
    assert act(live, d["id"], action="urge", reason="x").status_code == 409
    r = act(live, d["id"], action="reopen", reason="当事人反映未履行")
    assert r.status_code == 200 and r.json()["state"] == "needs_supervisor" and r.json()["closure"] is None
    assert act(live, d["id"], action="reopen", reason="x").status_code == 409


def test_follow_up_closes_or_reopens_on_relapse(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "outcome", outcome=AGREEMENT).status_code == 200
    r = act(live, d["id"], action="record_follow_up", reason="电话回访", satisfaction="satisfied")
    assert r.status_code == 409  # not fulfilled yet
    r = act(live, d["id"], action="record_fulfilment", reason="当事人确认已付款", fulfilled_on="2026-11-23")
    assert r.status_code == 200 and r.json()["state"] == "follow_up"
    r = act(live, d["id"], action="record_follow_up", reason="电话回访", satisfaction="satisfied")
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert r.json()["closure"]["code"] == "followed_up"
    r = act(live, d["id"], action="record_follow_up", reason="再次回访", satisfaction="dissatisfied", relapse=True)
    assert r.status_code == 200 and r.json()["state"] == "needs_supervisor"
    r = act(live, d["id"], action="withdraw", reason="申请人撤回申请")
    assert r.status_code == 200 and r.json()["closure"]["code"] == "withdrawn"


def test_every_action_is_audited_with_actor_and_reason(live, svc):
    d = post_dispute(live, svc)
    act(live, d["id"], action="urge", reason="催办理由")
    act(live, d["id"], action="close", reason="办结理由")
    evs = events_of(svc, d["id"])
    urged = next(e for e in evs if e[0] == "handoff.urged")
    closed = next(e for e in evs if e[0] == "dispute.close")
    assert urged[1] == closed[1] == "user:supervisor-1"
    assert urged[2]["reason"] == "催办理由" and closed[2]["reason"] == "办结理由"
    with svc.ctx.store.read() as s:
        assert all(h.state in ("recalled",) for h in s.scalars(select(Handoff).where(Handoff.dispute_id == d["id"])))


# --------------------------------------------------------------------------- review findings, pinned
def test_an_event_id_reused_on_another_handoff_is_a_conflict_not_a_silent_drop(live, svc, agencies):
    d1, d2 = post_dispute(live, svc), post_dispute(live, svc)
    h1, h2 = lead_of(d1), lead_of(d2)
    assert h1["agency"] == h2["agency"]
    a = agencies(h1["agency"])
    assert a.event(h1["id"], "acknowledged", event_id="ack").status_code == 200
    r = a.event(h2["id"], "acknowledged", event_id="ack")
    assert r.status_code == 409 and "event_id" in r.json()["error"]["fields"]


def test_a_recalled_agency_is_told_and_no_longer_sees_personal_data(live, svc, agencies):
    from router.store.models import Delivery

    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    assert act(live, d["id"], action="reroute", reason="改派").status_code == 200
    with svc.ctx.store.read() as s:
        kinds = s.scalars(select(Delivery.kind).where(Delivery.handoff_id == lead["id"])).all()
    assert "handoff.recalled" in kinds
    g = a.handoff(lead["id"])
    assert g.status_code == 200 and g.json()["state"] == "recalled" and g.json()["referral"] is None


def test_a_court_that_returns_the_confirmation_leaves_the_agreement_to_be_performed(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    outcome = {"result": "agreement", "agreement": {**AGREEMENT["agreement"], "judicial_confirmation": True}}
    assert agencies(lead["agency"]).event(lead["id"], "outcome", outcome=outcome).status_code == 200
    court = next(h for h in view_of(live, d)["handoffs"] if h["role"] == "confirm")
    r = agencies(court["agency"]).event(court["id"], "returned", reason="材料不全", basis="司法确认规定第5条")
    assert r.status_code == 200, r.text
    after = view_of(live, d)
    assert after["state"] == "fulfilling" and after["outcome"]["confirmation"]["confirmed"] is False


def test_fulfilment_today_means_today_in_beijing(live, svc, agencies, clock):
    from datetime import UTC, datetime

    d = post_dispute(live, svc)
    lead = lead_of(d)
    assert agencies(lead["agency"]).event(lead["id"], "outcome", outcome=AGREEMENT).status_code == 200
    clock.now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 04:00 on the 24th in Beijing
    r = act(live, d["id"], action="record_fulfilment", reason="已付款", fulfilled_on="2026-11-24")
    assert r.status_code == 200, r.text


def test_reroute_from_the_supervisors_queue_keeps_the_body_type(live, svc, agencies):
    d = post_dispute(live, svc, category="MEDICAL")
    while view_of(live, d)["state"] != "needs_supervisor":
        lead = lead_of(view_of(live, d))
        r = agencies(lead["agency"]).event(lead["id"], "returned", reason="非本单位", basis="规定")
        assert r.status_code == 200, r.text
    r = act(live, d["id"], action="reroute", reason="再试")
    if r.status_code == 200:
        assert lead_of(r.json())["body_type"] == "medical_mediation"
    else:
        assert r.status_code == 422  # no other medical committee: designate one


def test_an_extension_while_the_clock_is_stopped_does_not_rearm_the_ladder(live, svc, agencies, clock):

    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    assert a.event(lead["id"], "acknowledged").status_code == 200
    assert a.event(lead["id"], "progress", suspension={"action": "start", "reason": "鉴定"}).status_code == 200
    assert act(live, d["id"], action="extend", reason="同意延期", period="1c").status_code == 200
    clock.advance(days=120)
    svc.run_due_timers()
    assert not events_of(svc, d["id"], "handoff.urged") and not events_of(svc, d["id"], "handoff.overdue")
    assert lead_of(view_of(live, d))["clock_stopped"] is True


def test_a_return_with_a_reason_code_over_http(live, svc, agencies):
    d = post_dispute(live, svc)
    lead = lead_of(d)
    a = agencies(lead["agency"])
    r = a.event(lead["id"], "returned", reason="当事人不同意", basis="人民调解法第17条", reason_code="bogus")
    assert r.status_code == 422 and "reason_code" in r.json()["error"]["fields"]
    assert lead_of(view_of(live, d))["state"] == "offered"
    r = a.event(lead["id"], "returned", reason="申请人表示不愿调解", basis="人民调解法第17条",
                reason_code="party_refuses")
    assert r.status_code == 200, r.text
    after = view_of(live, d)
    assert after["state"] == "needs_supervisor"
    assert [h["state"] for h in after["handoffs"] if h["role"] == "lead"] == ["returned"]
