"""Found by the review of 补正, 机构异常 with the ordered drain, and 联动 (issue 11): each test failed
before its fix; the docstring says what was wrong and why it matters."""

from __future__ import annotations

from typing import Any

from router.domain.errors import StateConflict, ValidationError
from router.messaging.circuit import CircuitBreakers
from router.messaging.worker import DeliveryWorker
from router.store.models import Delivery, Outbox
from tests.builders import SUPERVISOR, delivery_states, drain, events_of, lead_of, register, report

EXPERT = "ZJ-EXP-330681000000"  # 诸暨市矛盾纠纷调解专家库 (config/agencies.yaml)


def _ask(svc, d, kind: str, body_type: str | None = None, reason: str = "需要联动") -> dict[str, Any]:
    lead = lead_of(svc.get_dispute(d["id"]))
    report(svc, lead, "link_request", link={"kind": kind, "body_type": body_type, "reason": reason})
    return svc.get_dispute(d["id"])


# --------------------------------------------------------------------------- 联动: the decision notice
def test_link_decided_notice_never_reaches_the_asking_agency(svc):
    """router/store/uow.py:29 HTTP_KINDS lacks "link.decided", so linkage._decided's op.notify writes an
    outbox row but no Delivery: the notice is never pushed and never appears in the agency's feed
    (agency.feed reads deliveries). The agency guide §5 promises the answer "reaches you as a
    link.decided notice"; the lead never learns its request was approved or refused."""
    d = register(svc)
    lead = lead_of(d)
    _ask(svc, d, "assist", "police", "当事人扬言报复，请派出所协助")  # auto-approved by config
    with svc.ctx.store.read() as s:
        (notice,) = s.query(Outbox).filter(Outbox.handoff_id == lead["id"], Outbox.kind == "link.decided").all()
        deliveries = s.query(Delivery).filter(Delivery.outbox_id == notice.id).all()
    feed = svc.agency_feed(lead["agency"], 0, 100)["items"]
    assert deliveries, "the link.decided notice has no delivery row: it is never sent"
    assert any(i["kind"] == "link.decided" for i in feed), "the link.decided notice is missing from the feed"


# --------------------------------------------------------------------------- 联动: the expert panel as a lead
def test_expert_panel_can_be_designated_lead_and_its_opinion_closes_the_dispute_as_withdrawn(svc):
    """The expert panel is "never a lead" (router/domain/model.py, NEVER_LEAD in domain/linkage.py), but
    only the transfer path checks it: supervision.reroute/escalate (router/services/supervision.py:84,
    113) accept an expert_panel agency as the lead. The expert may then only report `opinion`
    (handling._checked_outcome), and agreement.lead_result (router/services/agreement.py:54) treats
    every result that is not agreement/failed as a withdrawal: the dispute is closed as 申请人撤回
    although nobody withdrew. Designating the panel should be refused, or its opinion must not end the case."""
    d = register(svc)
    try:
        view = svc.act(d["id"], {"action": "designate", "agency": EXPERT, "reason": "请专家库主办"}, SUPERVISOR)
    except (ValidationError, StateConflict):
        return  # refused: what should happen
    lead = lead_of(view)
    assert lead["agency"] == EXPERT and lead["body_type"] == "expert_panel"
    report(svc, lead, "acknowledged")
    report(svc, lead, "outcome", outcome={"result": "opinion", "opinion": "建议按合同约定处理。"})
    after = svc.get_dispute(d["id"])
    assert not (after["state"] == "closed" and (after.get("closure") or {}).get("code") == "withdrawn"), \
        f"an expert's opinion closed the dispute as withdrawn: {after.get('closure')}"


# --------------------------------------------------------------------------- 联动: the expert's PII audit
def test_expert_delivery_audits_pii_it_never_sent(svc, stub):
    """ExpertPanelAdapter strips id_number and phone from the parties, but delivery.complete
    (router/services/delivery.py, attempt_data["pii_revealed"] = revealed_fields(dispute)) records
    every encrypted field as revealed, whatever the adapter sent. The audit trail (docs/domain.md §9:
    "A successful delivery records the revealed fields") then says the experts received the parties'
    ID numbers and phones: a false disclosure record, and no way to tell what really left the centre."""
    d = register(svc)
    link = _ask(svc, d, "expert", reason="工程质量是否达标")["links"][0]
    view = svc.act(d["id"], {"action": "approve_link", "link": link["id"], "reason": "同意"}, SUPERVISOR)
    expert = next(h for h in view["handoffs"] if h["body_type"] == "expert_panel")
    worker = DeliveryWorker(svc)
    drain(svc, worker)
    (got,) = [r for r in stub.deliveries(expert["agency"]) if r.headers.get("Idempotency-Key") == expert["id"]]
    assert all(p["id_number"] is None and p["phone"] is None for p in got.payload["parties"])
    delivered = [e for e in events_of(svc, d["id"], "handoff.deliver", data_only=True)
                 if e.get("delivery_id") and e.get("agency") == expert["agency"]]
    assert delivered
    claimed = delivered[-1].get("pii_revealed") or []
    assert not [f for f in claimed if f.endswith(("id_number", "phone"))], \
        f"the audit says the expert got {claimed}, the payload carried none of it"


# --------------------------------------------------------------------------- 机构异常: the ordered drain
def _outage_then_back(svc, clock, stub, worker, n: int = 8) -> tuple[str, list[dict[str, Any]]]:
    stub.behave(status=503)
    ds = []
    for _ in range(n):
        ds.append(register(svc))
        drain(svc, worker)
        clock.advance(minutes=5)
    agency = lead_of(ds[0])["agency"]
    assert {lead_of(x)["agency"] for x in ds} == {agency}
    assert delivery_states(svc, agency) == {"pending": n}
    return agency, ds


def test_one_failed_retry_after_recovery_stalls_the_whole_backlog(svc, clock, stub):
    """delivery.older_waiting (router/services/delivery.py:196) counts any unleased pending delivery with
    a lower feed_seq, also one that is not due (in its backoff after one more 5xx). While the breaker
    is draining (600 s by default, circuit.py draining) every newer delivery to the agency steps back
    with defer(0): they are re-enqueued and re-claimed every sweep (a hot loop of claim/query/defer)
    and none is sent, although the agency is up and answering 200. One bad answer after an outage
    holds the agency's whole backlog for up to ten minutes; before the commit they went at once."""
    worker = DeliveryWorker(svc, breakers=CircuitBreakers(cooldown=30.0, clock=lambda: clock().timestamp()))
    agency, ds = _outage_then_back(svc, clock, stub, worker)
    stub.behave(status=200)
    armed = []

    def after() -> None:  # right after the circuit's trial succeeded: the next request gets one more 503
        if not armed and stub.deliveries(agency):
            armed.append(True)
            stub.behave(status=200, fail_next=1)

    for _ in range(20):  # until the trial went through
        clock.advance(minutes=1)
        drain(svc, worker, after)
        if armed:
            break
    assert armed
    steps = 0
    for _ in range(5):  # five minutes of sweeps with the agency up
        clock.advance(minutes=1)
        steps += drain(svc, worker, after)
    sent = {r.headers["Idempotency-Key"] for r in stub.deliveries(agency)}
    # everything but the one delivery that got the extra 503 should have gone by now
    assert len(sent) >= len(ds) - 1, (f"only {len(sent)} of {len(ds)} sent in 5 min after recovery, "
                                      f"{steps} claims spent; states {delivery_states(svc, agency)}")


def test_a_five_minute_outage_is_flagged_as_thirty_minutes_down(svc, clock, stub):
    """warnings._agencies_down (router/services/warnings.py:135) calls an agency down when one of its
    pending deliveries has a last_error and was *created* before the window, with nothing delivered
    since. It never asks when the failures happened: three failed attempts in the first five minutes
    (schedule 0 s, 5 s, 300 s; the next one 30 min later) and a quiet agency that has been answering
    again ever since is flagged 机构异常 "推送持续失败超过30分钟" at minute 31. The signal is meant for an
    agency whose deliveries *kept* failing for agency_down_minutes; this one failed for five."""
    worker = DeliveryWorker(svc, breakers=CircuitBreakers(cooldown=30.0, clock=lambda: clock().timestamp()))
    stub.behave(status=503)
    d = register(svc)
    agency = lead_of(d)["agency"]
    drain(svc, worker)                 # t = 0: fails
    clock.advance(seconds=6)
    drain(svc, worker)                 # t = 6 s: fails
    clock.advance(seconds=330)
    drain(svc, worker)                 # t = 5.6 min: fails, next try in ~30 min
    with svc.ctx.store.read() as s:
        (row,) = s.query(Delivery).filter(Delivery.agency_code == agency, Delivery.state == "pending").all()
        assert row.attempts == 3 and row.last_error
    stub.behave(status=200)             # the agency is back after its five-minute hiccup
    clock.advance(minutes=26)           # t = 31.6 min; its last failure 26 minutes ago
    svc.refresh_warnings()
    down = [s for s in svc.warnings_report()["signals"] if s["kind"] == "agency_down"]
    assert not down, f"flagged after failures that lasted five minutes: {down[0]['why']}"


def test_a_second_worker_whose_circuit_is_still_open_stalls_the_drain(svc, clock, stub):
    """Each worker process has its own breakers (messaging/worker.py). After the outage worker A's trial
    succeeds and resume() makes the backlog due; worker B, whose circuit for the agency is still open
    (it saw the same failures, later), defers the delivery it is handed by breaker.remaining(), i.e.
    into the future. older_waiting (router/services/delivery.py:196) then counts that not-due delivery
    as "older and waiting", so A steps back every newer one with defer(0) for its whole draining
    window: with two workers (the default Background) the recovered agency gets almost nothing for
    minutes while both spin on claim/defer."""
    now = lambda: clock().timestamp()  # noqa: E731
    a = DeliveryWorker(svc, breakers=CircuitBreakers(cooldown=30.0, clock=now))
    b = DeliveryWorker(svc, breakers=CircuitBreakers(cooldown=30.0, clock=now))
    agency, ds = _outage_then_back(svc, clock, stub, a)
    stub.behave(status=200)
    late = b.breakers.get(agency)  # B's circuit opened later than A's: still open for a while
    late.failures, late.cooldown, late.open_until = late.threshold, 600.0, now() + 600.0
    b.opened[agency] = clock()  # as B's own failures opened it
    for _ in range(20):  # A's trial after its cooldown
        clock.advance(minutes=1)
        drain(svc, a)
        if stub.deliveries(agency):
            break
    assert stub.deliveries(agency)
    for _ in range(5):  # five minutes with both workers taking turns
        clock.advance(minutes=1)
        for i, (delivery_id, _) in enumerate(svc.deliveries_due()):
            (b if i % 2 else a).handle(delivery_id)
    sent = {r.headers["Idempotency-Key"] for r in stub.deliveries(agency)}
    assert len(sent) >= len(ds) - 1, f"only {len(sent)} of {len(ds)} sent in 5 min; {delivery_states(svc, agency)}"
