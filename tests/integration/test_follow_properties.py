"""Property test: random sequences of agency reports, timer firings and supervisor actions, driven
through the service layer against the real database, with the invariants checked after every step.

- at most one lead handoff open, and exactly one while the dispute is handed off or in handling;
- no event lost from the chain (the dispute's head matches its events, the chain verifies);
- every recorded transition is a row of the workflow tables;
- a refused step changes nothing; a closed dispute accepts only reopen (or a follow-up whose relapse reopens it);
- 联动: a request waits only while its asker is open, an approved one became a handoff;
- 并单: a merged registration has no open handoff, and the open dispute holds a copy of each of its
  parties exactly while it is merged (拆单 takes them out again).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from router.domain.errors import DomainError, StateConflict
from router.services import Actor
from router.store.chain import event_hash
from router.store.models import Dispute, Event, Handoff, LinkRequest, Party
from router.workflows.dispute import DISPUTE
from router.workflows.handoff import HANDOFF, OPEN
from router.workflows.link import LINK
from tests.builders import CLERK, START, body, command, county, register

SUPERVISOR = Actor("user", "prop-supervisor", "supervisor")

AGENCY_EVENTS = ("acknowledged", "returned", "returned_not_our_area", "returned_not_our_scope",
                 "returned_party_refuses", "returned_incomplete", "link_assist", "link_expert", "link_transfer",
                 "progress", "outcome_agreement", "outcome_agreement_to_confirm", "outcome_confirmed",
                 "outcome_failed", "outcome_withdrawn", "closed", "closed_fulfilled")
ACTIONS = ("urge", "escalate", "reroute", "designate", "withdraw", "close", "reopen", "follow_up_ok",
           "follow_up_relapse", "follow_up_dissatisfied", "record_fulfilment", "request_confirmation",
           "approve_link", "refuse_link", "add_assist", "apply_enforcement", "remediate", "guide_to_litigation",
           "decline_arbitration")
LINKS = {"link_assist": {"kind": "assist", "body_type": "police"}, "link_expert": {"kind": "expert"},
         "link_transfer": {"kind": "transfer", "body_type": "people_mediation"}}

steps = st.one_of(
    st.tuples(st.just("agency"), st.integers(0, 7), st.sampled_from(AGENCY_EVENTS)),
    st.tuples(st.just("timer"), st.integers(1, 12), st.just("")),
    st.tuples(st.just("supervisor"), st.integers(0, 7), st.sampled_from(ACTIONS)),
    st.tuples(st.just("repeat"), st.integers(0, 7), st.just("")),
    st.tuples(st.just("duplicate"), st.integers(0, 7), st.sampled_from(("merge", "distinct", "split"))),
    st.tuples(st.just("complete"), st.integers(0, 7), st.just("")),  # 补正 at the window
)
# Where the dispute starts: dispatched; held as a likely repeat (并单); settled at the window (当场化解);
# agreed with the lead (and judicially confirmed), so the steps after the outcome are reached often.
STARTS = ("routed", "routed", "held", "on_spot", "agreed", "confirmed")

TABLES = {wf.name: {(t.trigger, src, t.dest) for t in wf.transitions
                    for src in ([t.source] if isinstance(t.source, str) else t.source)}
          for wf in (DISPUTE, HANDOFF, LINK)}


def _snapshot(svc, dispute_id):
    with svc.ctx.store.read() as s:
        d = s.get(Dispute, dispute_id)
        hs = s.scalars(select(Handoff).where(Handoff.dispute_id == dispute_id)
                       .order_by(Handoff.created_at, Handoff.placement)).all()
        events = s.scalars(select(Event).where(Event.stream == dispute_id).order_by(Event.stream_seq)).all()
        return d, list(hs), list(events)


def _check(svc, dispute_id):
    d, hs, events = _snapshot(svc, dispute_id)
    open_leads = [h for h in hs if h.role == "lead" and h.state in OPEN]
    assert len(open_leads) <= 1, [(h.agency_code, h.state) for h in hs]
    if d.state in ("handed_off", "in_handling"):
        assert len(open_leads) == 1, (d.state, [(h.role, h.state) for h in hs])
    # no event lost: a gap-free chain whose head is the dispute's
    assert [e.stream_seq for e in events] == list(range(1, len(events) + 1))
    assert d.event_count == len(events) and d.event_head == events[-1].hash
    prev = "0" * 64
    for e in events:
        assert e.prev_hash == prev and e.hash == event_hash(e)
        prev = e.hash
    # every transition on record is a row of the tables
    for e in events:
        wf, _, trigger = e.type.partition(".")
        if wf in TABLES and "from" in e.data:
            assert (trigger, e.data["from"], e.data["to"]) in TABLES[wf], e.type
    if d.state == "closed":
        assert not any(h.state in OPEN for h in hs)
    enforcing = [h for h in hs if h.role == "enforce" and h.state in OPEN]
    assert len(enforcing) == (1 if d.state == "enforcing" else 0), (d.state, [(h.role, h.state) for h in hs])
    if d.state in ("unfulfilled", "follow_up", "fulfilling"):
        assert not open_leads, (d.state, [(h.role, h.state) for h in hs])
    if d.state == "merged":
        assert d.merged_into is not None and not any(h.state in OPEN for h in hs)
    with svc.ctx.store.read() as s:
        copies = s.query(Party).filter(Party.merged_from == dispute_id).count()
        own = s.query(Party).filter(Party.dispute_id == dispute_id).count()
    assert copies == (own if d.state == "merged" else 0), (d.state, copies, own)
    # 联动: a request waits only while the handoff that asked is open and the dispute is; an approved
    # one became a handoff of this dispute
    by_id = {h.id: h for h in hs}
    with svc.ctx.store.read() as s:
        links = s.query(LinkRequest).filter(LinkRequest.dispute_id == dispute_id).all()
    for link in links:
        if link.state == "pending":
            assert d.state not in ("closed", "archived"), (d.state, link.kind)
            assert link.handoff_id is None or by_id[link.handoff_id].state in OPEN, link.kind
        if link.state == "approved":
            assert link.result_handoff_id in by_id, link.kind
    return d, hs


def _agency_body(kind, today):
    b = {"event_id": str(uuid.uuid4())}
    if kind.startswith("returned"):
        code = kind.removeprefix("returned").lstrip("_") or None  # no code: `other`
        return {**b, "type": "returned", "reason": "非本单位职责", "basis": "职责规定",
                **({"reason_code": code} if code else {})}
    if kind.startswith("outcome_"):
        result = {"agreement": "agreement", "confirmed": "agreement", "failed": "failed",
                  "withdrawn": "withdrawn"}[kind.split("_")[1]]
        outcome = {"result": result}
        if kind.startswith("outcome_agreement"):
            outcome["agreement"] = {"terms": "赔偿1000元", "amount": "1000.00", "fulfil_by": today,
                                    "judicial_confirmation": kind.endswith("to_confirm")}
        return {**b, "type": "outcome", "outcome": outcome}
    if kind in LINKS:
        return {**b, "type": "link_request", "link": {**LINKS[kind], "reason": "性质测试联动"}}
    if kind == "closed_fulfilled":
        return {**b, "type": "closed", "fulfilment": {"fulfilled_on": today}}
    return {**b, "type": kind}


def _agree(svc, view, confirm: bool) -> None:
    today = START.astimezone(svc.ctx.config.calendar.tz).date().isoformat()
    lead = next(h for h in view["handoffs"] if h["role"] == "lead")
    svc.agency_event(lead["agency"], lead["id"], _agency_body("acknowledged", today))
    svc.agency_event(lead["agency"], lead["id"], _agency_body(
        "outcome_agreement_to_confirm" if confirm else "outcome_agreement", today))
    court = [h for h in svc.get_dispute(view["id"])["handoffs"] if h["role"] == "confirm"]
    if court:
        svc.agency_event(court[0]["agency"], court[0]["id"], _agency_body("acknowledged", today))
        svc.agency_event(court[0]["agency"], court[0]["id"], _agency_body("outcome_confirmed", today))


def _action(kind, h, svc, today):
    data = {"action": kind, "reason": "性质测试"}
    if kind == "designate":
        data["agency"] = h.agency_code if h is not None else None
    if kind.startswith("follow_up"):
        data = {"action": "record_follow_up", "reason": "回访",
                "satisfaction": "dissatisfied" if kind.endswith("dissatisfied") else "satisfied",
                "relapse": kind.endswith("relapse")}
    if kind == "record_fulfilment":
        data["fulfilled_on"] = today
    if kind in ("approve_link", "refuse_link"):
        waiting = [x for x in svc.get_dispute(h.dispute_id)["links"] if x["state"] == "pending"] if h else []
        data["link"] = waiting[0]["id"] if waiting else "none"
    if kind == "add_assist":
        data["body_type"] = "legal_aid"
    return data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(seq=st.lists(steps, min_size=1, max_size=14),
       category=st.sampled_from(["NEIGHBOUR", "LABOUR", "TRAFFIC_ACCIDENT", "FOREST_LAND"]),
       risky=st.booleans(), start=st.sampled_from(STARTS))
def test_random_follow_through_keeps_the_invariants(svc, clock, seq, category, risky, start):
    clock.now = START
    b = body(county(svc)["v"], category, risk_flags=["violence_threat"] if risky else [])
    if start == "held":  # the same applicant again: held for 并单 against the first
        svc.register_dispute(command(b), CLERK)
    elif start == "on_spot":
        b["disposition"] = {"type": "resolved_on_spot", "terms": "当场和解"}
    view = svc.register_dispute(command(b), CLERK)[1]
    assert view["state"] == {"held": "held_duplicate", "on_spot": "fulfilling"}.get(start, view["state"])
    dispute_id = view["id"]
    if start in ("agreed", "confirmed") and view["handoffs"]:
        _agree(svc, view, confirm=start == "confirmed")
    _check(svc, dispute_id)
    last_agency_call = None
    for kind, index, what in seq:
        d, hs = _check(svc, dispute_id)
        before = (d.event_count, d.state, [(h.id, h.state) for h in hs])
        today = clock().astimezone(svc.ctx.config.calendar.tz).date().isoformat()
        h = hs[index % len(hs)] if hs else None
        try:
            if kind == "agency" and h is not None:
                last_agency_call = (h.agency_code, h.id, _agency_body(what, today))
                svc.agency_event(*last_agency_call)
            elif kind == "repeat" and last_agency_call is not None:
                first = svc.agency_event(*last_agency_call)  # the same event_id: the first answer, nothing new
                d2, _, _ = _snapshot(svc, dispute_id)
                assert d2.event_count == before[0] and svc.agency_event(*last_agency_call) == first
            elif kind == "duplicate":
                try:
                    svc.decide_duplicate(dispute_id, what, "性质测试", CLERK)
                except StateConflict:
                    after, hs_after, _ = _snapshot(svc, dispute_id)
                    assert (after.event_count, after.state) == before[:2]
            elif kind == "complete":
                try:
                    svc.complete_registration(dispute_id, "补交材料", CLERK)
                except StateConflict:
                    after, _, _ = _snapshot(svc, dispute_id)
                    assert (after.event_count, after.state) == before[:2]
                else:
                    assert before[1] == "awaiting_completion"
            elif kind == "timer":
                clock.advance(days=index)
                svc.run_due_timers()
            elif kind == "supervisor":
                data = _action(what, h, svc, today)
                closed = d.state == "closed"
                try:
                    svc.act(dispute_id, data, SUPERVISOR)
                except StateConflict:
                    pass
                else:
                    if closed:  # a closed dispute accepts only reopen, or a follow-up (which may reopen it)
                        assert data["action"] in ("reopen", "record_follow_up"), data
        except DomainError:
            after, hs_after, _ = _snapshot(svc, dispute_id)
            assert (after.event_count, after.state, [(x.id, x.state) for x in hs_after]) == before
        _check(svc, dispute_id)


def test_a_closed_dispute_refuses_everything_but_reopen(svc, clock):
    clock.now = START + timedelta(hours=1)
    view = register(svc)
    svc.act(view["id"], {"action": "close", "reason": "自行和解"}, SUPERVISOR)
    lead = view["handoffs"][0]
    for data in ({"action": "urge", "reason": "x"}, {"action": "escalate", "reason": "x"},
                 {"action": "reroute", "reason": "x"}, {"action": "withdraw", "reason": "x"},
                 {"action": "close", "reason": "x"}, {"action": "record_fulfilment", "reason": "x"},
                 {"action": "request_confirmation", "reason": "x"}):
        try:
            svc.act(view["id"], data, SUPERVISOR)
            raise AssertionError(f"{data['action']} accepted on a closed dispute")
        except StateConflict:
            pass
    try:
        svc.agency_event(lead["agency"], lead["id"], {"event_id": "x1", "type": "acknowledged"})
        raise AssertionError("a report on a recalled handoff was accepted")
    except StateConflict:
        pass
    svc.act(view["id"], {"action": "reopen", "reason": "复发"}, SUPERVISOR)
    assert svc.get_dispute(view["id"])["state"] == "needs_supervisor"
