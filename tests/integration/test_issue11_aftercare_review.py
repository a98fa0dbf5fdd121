"""Found by the review of the after-outcome steps (unfulfilled, enforcing, 重办), the urgent clocks and
data minimisation (issue 11): each test failed before its fix; its docstring says what was wrong and
why it matters."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from router.adapters import adapter_for
from router.domain.errors import DomainError
from router.services import Actor
from router.services.referral import referral_input, revealed_fields
from router.store.models import Agency, Handoff
from tests.builders import SUPERVISOR, agreed, events_of, lead_of, register, report

VISITOR = Actor("user", "test-visitor", "follow_up")
OPEN = ("offered", "delivered", "acknowledged", "in_progress")


def _unfulfilled(svc, clock, **kw: Any) -> dict[str, Any]:
    d = agreed(svc, clock, **kw)
    clock.advance(days=12)
    svc.run_due_timers()
    view = svc.get_dispute(d["id"])
    assert view["state"] == "unfulfilled"
    return view


# --------------------------------------------------------------------------- enforcing
def test_probe_fulfilment_recorded_while_enforcing_leaves_the_courts_enforce_handoff_open(svc, clock):
    """router/services/agreement.py record_fulfilment accepts `enforcing` (and aftercare's
    `fulfil` row leaves ENFORCING for follow_up) but never recalls the court's open `enforce`
    handoff. A supervisor (or the mediator's `closed` report) recording the late payment moves
    the dispute to 待回访 while the court still holds an enforcement application it is never told
    to drop: its ladder keeps running, so the court is 催办/督办'd and sits on the overdue queue
    for an agreement already performed."""
    d = _unfulfilled(svc, clock, confirm=True)
    view = svc.act(d["id"], {"action": "apply_enforcement", "reason": "申请人申请强制执行"}, SUPERVISOR)
    enforce = next(h for h in view["handoffs"] if h["role"] == "enforce")
    report(svc, enforce, "acknowledged")
    after = svc.act(d["id"], {"action": "record_fulfilment", "reason": "被申请人已主动履行"}, SUPERVISOR)
    assert after["state"] == "follow_up"
    still = next(h for h in after["handoffs"] if h["id"] == enforce["id"])
    assert still["state"] not in OPEN, "the court's enforcement handoff is still open after the fulfilment"


def test_probe_enforce_handoff_left_open_is_urged_on_a_performed_agreement(svc, clock):
    """Consequence of the above: the orphaned enforce handoff's handling ladder fires on a dispute
    already in follow_up, sending 催办 to the court for an agreement that was performed."""
    d = _unfulfilled(svc, clock, confirm=True)
    view = svc.act(d["id"], {"action": "apply_enforcement", "reason": "申请人申请强制执行"}, SUPERVISOR)
    enforce = next(h for h in view["handoffs"] if h["role"] == "enforce")
    report(svc, enforce, "acknowledged")
    svc.act(d["id"], {"action": "record_fulfilment", "reason": "被申请人已主动履行"}, SUPERVISOR)
    due = next(h for h in svc.get_dispute(d["id"])["handoffs"] if h["id"] == enforce["id"])["handle_due"]
    clock.now = datetime.fromisoformat(due) + timedelta(days=3)
    svc.run_due_timers()
    assert svc.get_dispute(d["id"])["state"] == "follow_up"
    urged = [e for e in events_of(svc, d["id"], "handoff.urged", data_only=True) if e["agency"] == enforce["agency"]]
    assert urged == [], "the court was urged on an enforcement of an agreement already performed"


# --------------------------------------------------------------------------- remediate
def _justice_bureau(svc) -> str:
    with svc.ctx.store.read() as s:
        return s.scalar(select(Agency.code).where(Agency.body_type == "justice_bureau", Agency.active)
                        .order_by(Agency.code))


def test_probe_remediate_hands_the_lead_to_a_justice_bureau(svc, clock):
    """router/services/aftercare.py `_new_round` offers the lead with `offer()` directly, skipping
    place_lead's NEVER_LEAD check: `remediate` naming a 司法所 (or the expert panel, or the 12345
    hotline) makes it the lead mediator. The supervising-bodies commit says a justice_bureau is
    "never handed a dispute", and designate/reroute/transfer refuse it with 422; remediate should too.
    The bureau would also receive a referral it has no adapter contract for (`supervision_only`)."""
    d = _unfulfilled(svc, clock)
    bureau = _justice_bureau(svc)
    assert bureau
    try:
        view = svc.act(d["id"], {"action": "remediate", "agency": bureau, "reason": "再次调解"}, SUPERVISOR)
    except DomainError:
        return
    lead = lead_of(view)
    assert lead["agency"] != bureau, f"remediate made {bureau} (justice_bureau) the lead: {lead['body_type']}"


def test_probe_remediate_leaves_the_first_agreements_confirmation_window_timer_running(svc, clock):
    """`remediate` (unlike `redo`) cancels none of the dispute's timers, so the first agreement's
    `confirmation_window` timer (30c after it) survives into the new round. When it fires while the
    *new* agreement is in fulfilment it writes `dispute.confirmation_window_closed`
    (司法确认申请期限届满) although the new agreement's own window is still open: a false entry on the
    timeline and the case file, telling supervisors the parties can no longer apply."""
    d = _unfulfilled(svc, clock)  # day 12 after the first agreement
    view = svc.act(d["id"], {"action": "remediate", "reason": "对方愿意分期履行，再次调解"}, SUPERVISOR)
    lead = lead_of(view)
    clock.advance(days=2)
    report(svc, lead, "acknowledged")
    fulfil_by = (clock.now + timedelta(days=60)).astimezone(svc.ctx.config.calendar.tz).date().isoformat()
    report(svc, lead, "outcome", outcome={"result": "agreement", "agreement": {
        "terms": "分期赔偿", "amount": "2000.00", "fulfil_by": fulfil_by}})
    second_agreed = clock.now
    clock.advance(days=20)  # past the first agreement's 30 days, well inside the second's
    svc.run_due_timers()
    assert svc.get_dispute(d["id"])["state"] == "fulfilling"
    closed = events_of(svc, d["id"], "dispute.confirmation_window_closed", data_only=True)
    assert closed == [], (f"window 'closed' {clock.now - second_agreed} after the new agreement: {closed}")


# --------------------------------------------------------------------------- urgent clocks on re-offers
def test_probe_a_redo_weeks_later_still_runs_on_the_life_safety_15_minutes(svc, clock):
    """router/services/clock.py urgent_clock gives *every* lead of a dispute marked life_safety the
    15-minute 签收 clock, including the designated 重办 round a dissatisfied follow-up visit starts a
    month later. Nothing is urgent then; and because silence counts as a refusal, 16 minutes later
    the redo is expired and re-routed to another body, defeating "the same body again"."""
    d = agreed(svc, clock, urgency="life_safety")
    first = lead_of(d)
    clock.advance(days=12)
    svc.act(d["id"], {"action": "record_fulfilment", "reason": "已付清"}, SUPERVISOR)
    clock.advance(days=30)
    view = svc.record_follow_up(d["id"], {"satisfaction": "dissatisfied", "reason": "回访：赔偿款未到账"}, VISITOR)
    redo = lead_of(view)
    assert redo["agency"] == first["agency"] and redo["designated"]
    ack_window = datetime.fromisoformat(redo["ack_due"]) - clock.now
    clock.advance(minutes=16)
    svc.run_due_timers()
    now_lead = lead_of(svc.get_dispute(d["id"]))
    assert ack_window > timedelta(hours=1) and now_lead["id"] == redo["id"], (
        f"the 重办 got {ack_window} to 签收 and was then replaced by {now_lead['agency']}")


# --------------------------------------------------------------------------- data minimisation audit
def test_probe_revealed_fields_misses_the_work_orders_caller_phone(svc):
    """router/services/referral.py revealed_fields only looks at list-valued keys, so the 12345
    work order's `caller: {name, phone}` (router/adapters/hotline_12345.py) reveals the applicant's
    phone without any `pii.revealed` / `pii_revealed` entry: the audit says nothing was shown. A
    hotline handoff can be made today (see the remediate probe), and any future adapter that nests
    a party in an object has the same blind spot."""
    d = register(svc)
    with svc.ctx.store.read() as s:
        h = s.get(Handoff, lead_of(d)["id"])
        r = referral_input(svc.ctx, s, h)
    payload = adapter_for("hotline_12345").build(replace(r, body_type="hotline_12345"))
    assert payload["caller"]["phone"], "precondition: the work order carries the caller's phone"
    assert revealed_fields(payload), "the caller's phone is shown but revealed_fields reports nothing"
