"""A recall (or a closure) while the referral is already on its way to the agency: the agency that
then receives it is told the handoff is no longer its own (a review found it never heard)."""

from __future__ import annotations

from sqlalchemy import select

from router.adapters.base import SendResult
from router.services import delivery
from router.services.context import Actor
from router.store.models import Delivery, Handoff, Outbox
from tests.builders import CLERK, body, command, county, lead_of

SUPERVISOR = Actor("user", "recall-supervisor", "supervisor")


def _claimed(svc):
    view = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    lead = lead_of(view)
    with svc.ctx.store.read() as s:
        did = s.scalar(select(Delivery.id).where(Delivery.handoff_id == lead["id"]))
    job = delivery.claim(svc.ctx, did, "w1")  # the worker has built the referral and is POSTing it
    assert job is not None and job.payload["parties"][0]["name"] == "张三"
    return view, lead, job


def _recall_notices(svc, handoff_id):
    with svc.ctx.store.read() as s:
        return list(s.scalars(select(Outbox).where(Outbox.handoff_id == handoff_id,
                                                   Outbox.kind == "handoff.recalled")))


def test_an_agency_that_got_the_referral_while_it_was_recalled_is_told_to_stop(svc, clock):
    view, lead, job = _claimed(svc)
    clock.advance(seconds=5)
    svc.act(view["id"], {"action": "reroute", "reason": "改派"}, SUPERVISOR)   # recalled while still `offered`
    clock.advance(seconds=5)
    state = delivery.complete(svc.ctx, job, SendResult("delivered", 200, None, None, 0.01))
    assert state == "succeeded"   # the agency has the file
    with svc.ctx.store.read() as s:
        assert s.get(Handoff, lead["id"]).state == "recalled"
    assert _recall_notices(svc, lead["id"]), "the agency holding the referral got no recall notice"


def test_closing_a_dispute_while_its_referral_is_in_flight_tells_the_agency(svc, clock):
    view, lead, job = _claimed(svc)
    clock.advance(seconds=5)
    svc.act(view["id"], {"action": "close", "reason": "当事人自行和解"}, SUPERVISOR)
    clock.advance(seconds=5)
    assert delivery.complete(svc.ctx, job, SendResult("delivered", 200, None, None, 0.01)) == "succeeded"
    assert _recall_notices(svc, lead["id"]), "the agency holding the referral got no recall notice"
