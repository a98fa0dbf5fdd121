"""End to end over real HTTP with the stub agency and in-process delivery: a labour dispute from
intake to closure, and a 12345 work order's round trip (work order in, 回单 out)."""

from __future__ import annotations

from tests.builders import act, body, county, lead_of, view_of, wait_for


def _delivered(stub, live, d, handoff):
    wait_for(lambda: any(r.headers.get("Idempotency-Key") == handoff["id"] for r in stub.deliveries(handoff["agency"])))
    wait_for(lambda: next(h for h in view_of(live, d)["handoffs"] if h["id"] == handoff["id"])["state"] != "offered")


def test_labour_dispute_from_intake_to_closure(live, svc, stub, background, agencies, clock):
    c = county(svc)
    r = live.post("/api/v1/disputes", body(c["v"], "LABOUR", summary="拖欠工资三个月"))
    assert r.status_code == 201, r.text
    d = r.json()
    first = lead_of(d)
    assert first["body_type"] == "labour_mediation"
    _delivered(stub, live, d, first)

    # 1. labour mediation returns it: not its remit
    clock.advance(hours=2)
    r = agencies(first["agency"]).event(first["id"], "returned", reason="用人单位不在本辖区",
                                        basis="劳动争议调解仲裁法第10条")
    assert r.status_code == 200, r.text
    d1 = view_of(live, d)
    second = lead_of(d1)
    assert d1["state"] == "handed_off" and second["agency"] != first["agency"] and second["placement"] == 2
    _delivered(stub, live, d, second)

    # 2. re-routed body acknowledges, mediates, and mediation fails
    a2 = agencies(second["agency"])
    clock.advance(hours=3)
    assert a2.event(second["id"], "acknowledged").status_code == 200
    assert view_of(live, d)["state"] == "in_handling"
    clock.advance(hours=20)
    assert a2.event(second["id"], "progress", note="组织双方第一次调解").status_code == 200
    clock.advance(hours=4)
    assert a2.event(second["id"], "outcome", outcome={"result": "failed"}, note="双方分歧过大").status_code == 200

    # 3. the category's next body: labour arbitration
    d3 = view_of(live, d)
    third = lead_of(d3)
    assert third["body_type"] == "labour_arbitration" and d3["state"] == "handed_off"
    _delivered(stub, live, d, third)
    a3 = agencies(third["agency"])
    clock.advance(hours=5)
    assert a3.event(third["id"], "acknowledged").status_code == 200
    clock.advance(hours=6)
    fulfil_by = clock().astimezone(svc.ctx.config.calendar.tz).date().isoformat()  # today in Beijing
    agreement = {"terms": "公司于约定日前一次性支付工资12000元", "amount": "12000.00", "fulfil_by": fulfil_by}
    assert a3.event(third["id"], "outcome", outcome={"result": "agreement", "agreement": agreement}).status_code == 200
    assert view_of(live, d)["state"] == "fulfilling"

    # 4. fulfilment recorded by the body as it closes its file
    clock.advance(hours=1)
    r = a3.event(third["id"], "closed", fulfilment={"fulfilled_on": clock().date().isoformat(), "note": "已付清"})
    assert r.status_code == 200, r.text
    assert view_of(live, d)["state"] == "follow_up"

    # 5. the centre's follow-up visit closes it
    clock.advance(hours=1)
    r = act(live, d["id"], action="record_follow_up", reason="电话回访申请人", satisfaction="satisfied")
    assert r.status_code == 200 and r.json()["state"] == "closed", r.text

    # the timeline shows each step, with times, in order
    t = live.get(f"/api/v1/disputes/{d['id']}/timeline").json()
    steps = [e["type"] for e in t["events"]]
    expected = ["dispute.registered", "dispute.route", "handoff.offer", "dispute.hand_off", "handoff.deliver",
                "handoff.return_", "dispute.reroute", "handoff.acknowledge", "dispute.start_handling",
                "handoff.progress", "handoff.complete", "dispute.agree", "dispute.start_fulfilment",
                "dispute.fulfil", "handoff.close", "dispute.follow_up_recorded", "dispute.close"]
    positions = [steps.index(x) for x in expected]
    assert positions == sorted(positions), steps
    ats = [e["at"] for e in t["events"]]
    assert ats == sorted(ats) and len(set(ats)) >= 8
    spans = {s["handoff_id"]: s for s in t["spans"]}
    assert spans[first["id"]]["returned_reason"] == "用人单位不在本辖区" and spans[first["id"]]["delivered"]
    assert spans[second["id"]]["to_acknowledge_s"] is not None and spans[second["id"]]["outcome"]
    assert spans[third["id"]]["closed"] and spans[third["id"]]["sla"] == "on_time"


def _hotline_agency(svc):
    return next(code for code, a in svc.ctx.registry().by_code.items() if str(a.body_type) == "hotline_12345")


def test_hotline_work_order_round_trip(live, svc, stub, background, agencies, clock):
    hotline = agencies(_hotline_agency(svc))
    order = body(county(svc)["v"], "NEIGHBOUR", summary="邻居占用通道")
    order.pop("source"), order.pop("source_ref")
    order["work_order_no"] = "GD20261123000777"
    r = hotline.work_order(order)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["source"] == "hotline" and d["source_ref"] == "GD20261123000777"
    again = hotline.work_order(order)
    assert again.status_code in (200, 201) and again.json()["id"] == d["id"]
    lead = next(h for h in d["handoffs"] if h["role"] == "lead")
    body_agency = agencies(lead["agency"])
    assert body_agency.work_order(order).status_code == 403  # only the hotline files work orders

    clock.advance(hours=1)
    assert body_agency.event(lead["id"], "outcome", outcome={"result": "withdrawn"}).status_code == 200
    assert view_of(live, d)["state"] == "closed"

    def notices(kind):
        return [r.payload for r in stub.deliveries(_hotline_agency(svc)) if r.payload.get("kind") == kind
                and r.payload.get("work_order_no") == "GD20261123000777"]

    replies = wait_for(lambda: notices("reply"))
    assert replies[0]["reference"] == d["reference"] and replies[0]["result"] == "withdrawn"
    # Each notice is its own delivery: under load the reply may arrive before a status sent earlier.
    statuses = wait_for(lambda: {p["status"] for p in notices("status")} >= {"handed_off", "in_handling"},
                        what="the handed_off and in_handling statuses")
    assert statuses
    assert all(r.verified for r in stub.deliveries(_hotline_agency(svc)))
