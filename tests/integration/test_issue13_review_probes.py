"""Probes of the issue-13 review: the unit of work that buffers the append-only rows (events, outbox,
timers, deliveries, new figures rows) and writes each table once before commit; the cached duplicate
check; the prepared token lookup. Each test states one invariant the change must keep."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import column, func, select, text, update
from sqlalchemy import table as sql_table

from router.domain import ids
from router.domain.figures import FOLLOW_UP_EVENT
from router.services import Actor, intake
from router.services.operation import Operation
from router.store.chain import SYSTEM_STREAM
from router.store.models import Counter, Delivery, Dispute, Event, Outbox, Timer
from router.store.report_models import DisputeFigures, FollowUp, HandoffFigures
from router.store.uow import DELIVERIES, EVENTS, OUTBOX, TIMERS
from tests.builders import (
    CLERK,
    SUPERVISOR,
    at_once,
    body,
    command,
    county,
    designated,
    lead_of,
    register,
    unique_person,
)

SYS = "system"


def _count(svc, model: Any, *where: Any) -> int:
    with svc.ctx.store.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _snapshot(svc) -> dict[str, list[tuple[Any, ...]]]:
    with svc.ctx.store.read() as s:
        return {m.__tablename__: sorted(tuple(r) for r in s.execute(select(*m.__table__.columns)))
                for m in (DisputeFigures, HandoffFigures, FollowUp)}


def _credit_code() -> str:
    body17 = f"91330681MA2{random.randrange(10**6):06d}"
    return body17 + ids.credit_code_check_char(body17)


# ---------------------------------------------------------------- a transaction sees its own writes
def test_a_timer_added_then_cancelled_in_the_same_operation_is_cancelled(svc, clock):
    d = register(svc)
    with svc.ctx.store.unit_of_work() as uow:
        uow.add_timer("probe_due", clock.now + timedelta(days=3), "probe", at=clock.now, dispute_id=d["id"])
        assert uow.session.execute(select(TIMERS.c.id).where(TIMERS.c.kind == "probe_due")).all()
        uow.add_timer("probe_due", clock.now + timedelta(days=4), "probe", at=clock.now, dispute_id=d["id"])
        uow.cancel_timers(clock.now, dispute_id=d["id"], kinds=("probe_due",))
    assert _count(svc, Timer, Timer.kind == "probe_due") == 2
    assert _count(svc, Timer, Timer.kind == "probe_due", Timer.cancelled_at.is_(None)) == 0, \
        "a timer buffered in the transaction escaped cancel_timers"


def test_a_delivery_added_then_looked_up_and_cancelled_in_the_same_transaction(svc, clock, offline):
    d = register(svc)
    code = offline("pull", d)
    h = lead_of(d)
    with svc.ctx.store.unit_of_work() as uow:
        s = uow.session
        uow.add_message("handoff.urged", h["body_type"], {"agency": code, "handoff_id": h["id"]}, at=clock.now,
                        dispute_id=d["id"], handoff_id=h["id"])
        # ORM entity, Core table and a column-only select all see it, with its feed position
        orm = s.scalars(select(Delivery).where(Delivery.agency_code == code)).all()
        assert len(orm) == 1 and orm[0].state == "held" and orm[0].feed_seq is not None
        uow.add_message("handoff.urged", h["body_type"], {"agency": code, "handoff_id": h["id"]}, at=clock.now,
                        dispute_id=d["id"], handoff_id=h["id"])
        core = s.execute(select(DELIVERIES.c.id, DELIVERIES.c.feed_seq).where(DELIVERIES.c.agency_code == code)).all()
        assert len(core) == 2 and all(r.feed_seq is not None for r in core)
        uow.add_message("handoff.urged", h["body_type"], {"agency": code, "handoff_id": h["id"]}, at=clock.now,
                        dispute_id=d["id"], handoff_id=h["id"])
        n = s.execute(update(Delivery).where(Delivery.agency_code == code, Delivery.state == "held")
                      .values(state="cancelled").execution_options(synchronize_session=False)).rowcount
        assert n == 3
    assert _count(svc, Delivery, Delivery.agency_code == code, Delivery.state == "cancelled") == 3


def test_events_and_outbox_rows_queried_mid_transaction_through_orm_and_core(svc, clock):
    d = register(svc)
    with svc.ctx.store.unit_of_work() as uow:
        s = uow.session
        dispute = s.get(Dispute, d["id"], with_for_update=True)
        before = dispute.event_count
        e = uow.append_event(type="probe.noted", actor=SYS, at=clock.now, data={"n": 1}, dispute=dispute)
        assert s.scalar(select(func.count()).select_from(Event).where(Event.stream == d["id"])) == before + 1
        uow.append_event(type="probe.noted", actor=SYS, at=clock.now, data={"n": 2}, dispute=dispute)
        # a Core Table statement through Session.execute fires do_orm_execute too
        assert s.execute(select(func.count()).select_from(EVENTS).where(EVENTS.c.stream == d["id"])).scalar() \
            == before + 2
        uow.append_event(type="probe.noted", actor=SYS, at=clock.now, data={"n": 3}, dispute=dispute)
        ids_ = s.scalars(select(OUTBOX.c.payload).where(OUTBOX.c.dispute_id == d["id"], OUTBOX.c.kind == "events"))
        assert e.id in {x["event_id"] for p in ids_ for x in p["events"]}
        assert [x.data["n"] for x in s.scalars(select(Event).where(Event.type == "probe.noted")
                                                .order_by(Event.stream_seq))] == [1, 2, 3]


TEXTUAL = {
    "text": lambda s, sid: s.execute(text("SELECT count(*) FROM events WHERE stream = :s"), {"s": sid}).scalar(),
    "text_columns": lambda s, sid: s.execute(text("SELECT count(*) AS n FROM events WHERE stream = :s").columns(
        EVENTS.c.stream_seq.label("n")), {"s": sid}).scalar(),
    "select_from_text": lambda s, sid: s.execute(select(func.count()).select_from(text("events"))
                                                 .where(text("stream = :s")), {"s": sid}).scalar(),
    "lightweight_table": lambda s, sid: s.execute(
        select(func.count()).select_from(sql_table("events", column("stream")))
        .where(column("stream") == sid)).scalar(),
}


@pytest.mark.parametrize("how", list(TEXTUAL))
def test_a_textual_or_lightweight_select_mid_transaction_sees_the_buffered_rows(svc, clock, how):
    """text() is assumed to touch the buffered tables; so must text().columns() (a TextualSelect, no
    TextClause), a select from text(), and a table() clause naming a buffered table."""
    d = register(svc)
    with svc.ctx.store.unit_of_work() as uow:
        s = uow.session
        dispute = s.get(Dispute, d["id"], with_for_update=True)
        before = dispute.event_count
        uow.append_event(type="probe.noted", actor=SYS, at=clock.now, data={}, dispute=dispute)
        seen = TEXTUAL[how](s, d["id"])
    assert seen == before + 1, f"{how} ran before the buffered event was written"


def test_two_system_stream_events_in_one_transaction_chain_and_commit(svc, clock):
    with svc.ctx.store.read() as s:
        last = s.scalar(select(func.max(Event.stream_seq)).where(Event.stream == SYSTEM_STREAM)) or 0
    with svc.ctx.store.unit_of_work() as uow:
        a = uow.append_event(type="probe.system", actor=SYS, at=clock.now, data={"n": 1})
        b = uow.append_event(type="probe.system", actor=SYS, at=clock.now, data={"n": 2})
    assert (a.stream_seq, b.stream_seq) == (last + 1, last + 2) and b.prev_hash == a.hash
    assert svc.verify_chain()["ok"]


def test_a_follow_up_folded_while_the_figures_row_is_pending_equals_a_rebuild(svc, clock):
    """Registration and a 回访 in one transaction: the follow-up row takes the pending row's dims."""
    cmd = command(body(county(svc)["v"]))
    ctx = svc.ctx
    with ctx.store.unit_of_work() as uow:
        d = intake._insert(ctx, uow, cmd, CLERK, clock.now, "诸暨调〔2026〕999999号")
        op = Operation(ctx, uow, d, CLERK, clock.now)
        op.event(FOLLOW_UP_EVENT, {"reason": "probe", "satisfaction": "satisfied", "relapse": False})
    kept = _snapshot(svc)
    assert len(kept["follow_ups"]) == 1 and len(kept["dispute_figures"]) == 1
    svc.rebuild_figures()
    assert _snapshot(svc) == kept


def test_figures_of_a_whole_life_kept_equal_a_rebuild(svc, clock, offline):
    """Registration, designation to a pull agency (an offer held in the same transaction as a recall),
    acknowledgement, outcome: the rows kept through the buffer equal a rebuild."""
    code, held = designated(svc, offline, 2)
    svc.act(held[0][0], {"action": "urge", "reason": "请尽快"}, SUPERVISOR)
    svc.act(held[1][0], {"action": "reroute", "reason": "改派"}, SUPERVISOR)
    kept = _snapshot(svc)
    svc.rebuild_figures()
    assert _snapshot(svc) == kept


# ---------------------------------------------------------------- nothing lost or written twice
class _Boom(Exception):
    pass


def _totals(svc) -> tuple[int, ...]:
    with svc.ctx.store.read() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) or 0
                     for m in (Event, Outbox, Timer, Delivery, DisputeFigures, HandoffFigures))


def _feed(svc) -> int | None:
    with svc.ctx.store.read() as s:
        return s.scalar(select(Counter.value).where(Counter.name == "feed"))


def test_a_unit_of_work_that_raises_writes_nothing_of_its_buffer(svc, clock, offline):
    d = register(svc)
    code = offline("pull", d)
    h = lead_of(d)
    before, feed = _totals(svc), _feed(svc)
    with pytest.raises(_Boom), svc.ctx.store.unit_of_work() as uow:
        dispute = uow.session.get(Dispute, d["id"], with_for_update=True)
        uow.append_event(type="probe.noted", actor=SYS, at=clock.now, data={}, dispute=dispute)
        uow.add_timer("probe_due", clock.now, "probe", at=clock.now, dispute_id=d["id"])
        uow.add_message("handoff.urged", h["body_type"], {"agency": code}, at=clock.now, dispute_id=d["id"])
        uow.session.scalar(select(func.count()).select_from(Event))  # written mid-transaction...
        uow.append_event(type="probe.noted", actor=SYS, at=clock.now, data={}, dispute=dispute)
        raise _Boom  # ...and the rest still buffered
    assert _totals(svc) == before and _feed(svc) == feed
    # the next operation on the dispute chains on from what was committed
    svc.act(d["id"], {"action": "urge", "reason": "请尽快"}, SUPERVISOR)
    assert svc.verify_chain()["ok"]


def test_rows_buffered_inside_a_savepoint_that_rolls_back_are_not_written(svc, clock):
    """Session.begin_nested: objects added inside a rolled-back savepoint were expunged by the ORM;
    the buffer must forget rows appended inside it too."""
    d = register(svc)
    before = _count(svc, Event, Event.stream == d["id"])
    with svc.ctx.store.unit_of_work() as uow:
        dispute = uow.session.get(Dispute, d["id"], with_for_update=True)
        try:
            with uow.session.begin_nested():
                uow.add_timer("probe_due", clock.now, "probe", at=clock.now, dispute_id=d["id"])
                raise _Boom
        except _Boom:
            pass
        uow.append_event(type="probe.after", actor=SYS, at=clock.now, data={}, dispute=dispute)
    assert _count(svc, Event, Event.stream == d["id"]) == before + 1
    assert _count(svc, Timer, Timer.kind == "probe_due") == 0, "a timer of a rolled-back savepoint was committed"


def test_rows_buffered_before_a_savepoint_survive_its_rollback(svc, clock):
    """A statement inside a savepoint writes the whole buffer there; rolling the savepoint back must not
    take the rows appended before it (an event and its outbox message) with it."""
    d = register(svc)
    before = _count(svc, Event, Event.stream == d["id"])
    with svc.ctx.store.unit_of_work() as uow:
        dispute = uow.session.get(Dispute, d["id"], with_for_update=True)
        uow.append_event(type="probe.before", actor=SYS, at=clock.now, data={}, dispute=dispute)
        try:
            with uow.session.begin_nested():
                uow.session.scalar(select(func.count()).select_from(Event))
                raise _Boom
        except _Boom:
            pass
    assert _count(svc, Event, Event.stream == d["id"]) == before + 1, \
        "the event appended before the savepoint was lost with it"
    with svc.ctx.store.read() as s:
        assert s.get(Dispute, d["id"]).event_count == before + 1


# ---------------------------------------------------------------- the feed under concurrent writers
def test_the_feed_is_gap_free_in_commit_order_under_concurrent_writers(svc, clock, offline):
    """Urges on different disputes run at once on PostgreSQL (no dispute lock in common); each takes its
    feed position when its rows are written. Every snapshot a reader takes is 1..max with no hole."""
    if svc.ctx.settings.is_sqlite:
        pytest.skip("concurrent writers: PostgreSQL only")
    _, held = designated(svc, offline, 6)
    stop, errors, holes = threading.Event(), [], []

    def reader() -> None:
        while not stop.is_set():
            with svc.ctx.store.read() as s:
                seen = sorted(s.scalars(select(Delivery.feed_seq).where(Delivery.feed_seq.is_not(None))))
            if seen and seen != list(range(1, seen[-1] + 1)):
                holes.append(seen)

    def writer(dispute_id: str) -> None:
        try:
            for _ in range(5):
                svc.act(dispute_id, {"action": "urge", "reason": "请尽快"}, SUPERVISOR)
        except BaseException as e:  # noqa: BLE001 - asserted below
            errors.append(e)

    r = threading.Thread(target=reader)
    r.start()
    ws = [threading.Thread(target=writer, args=(dispute_id,)) for dispute_id, _ in held]
    for t in ws:
        t.start()
    for t in ws:
        t.join(60)
    stop.set()
    r.join(10)
    assert not errors, repr(errors[0])
    with svc.ctx.store.read() as s:
        seqs = sorted(s.scalars(select(Delivery.feed_seq)))
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 6 + 30
    assert not holes, f"a reader saw a later position before an earlier one: {holes[0]}"


# ---------------------------------------------------------------- the duplicate check, every shape
def _reg(svc, b: dict[str, Any]) -> dict[str, Any]:
    return svc.register_dispute(command(b), CLERK)[1]


def _applicant(b: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {**b["parties"][0], **kw}


@pytest.mark.parametrize("shape", ["id_only", "phone_only", "respondent_credit_code", "respondent_name",
                                   "respondent_id", "respondent_phone"])
def test_the_duplicate_check_and_the_preview_find_each_shape_of_input(svc, shape):
    v = county(svc)["v"]
    b = body(v, "NEIGHBOUR")
    idn, phone = b["parties"][0]["id_number"], b["parties"][0]["phone"]
    r_id, r_phone = unique_person()
    respondent = {"role": "respondent", "kind": "organization", "name": "某建筑公司", "division": v}
    if shape == "id_only":
        parties = [_applicant(b, phone=None), respondent]
    elif shape == "phone_only":
        parties = [_applicant(b, id_number=None), respondent]
    elif shape == "respondent_credit_code":
        parties = [_applicant(b), {**respondent, "credit_code": _credit_code()}]
    elif shape == "respondent_name":
        parties = [_applicant(b), respondent]
    elif shape == "respondent_id":
        parties = [_applicant(b), {"role": "respondent", "kind": "person", "name": "李四", "id_number": r_id,
                                   "division": v}]
    else:
        parties = [_applicant(b), {"role": "respondent", "kind": "person", "name": "李四", "phone": r_phone,
                                   "division": v}]
    first = _reg(svc, {**b, "parties": parties})
    assert first["state"] != "held_duplicate"
    # another category: only the same respondent makes it a likely repeat
    again = {**b, "category": "DAMAGES", "parties": parties}
    preview = svc.preview(command(again))
    assert [x["id"] for x in preview["likely_duplicates"]] == [first["id"]], shape
    second = _reg(svc, again)
    assert second["state"] == "held_duplicate" and second["duplicate_of"]["id"] == first["id"], shape
    # another respondent in another category: not a repeat, in the preview or at registration
    other = {"role": "respondent", "kind": "person", "name": f"王{uuid.uuid4().hex[:4]}", "division": v}
    neither = {**b, "category": "CONTRACT", "parties": [parties[0], other]}
    assert svc.preview(command(neither))["likely_duplicates"] == []
    assert _reg(svc, neither)["duplicate_of"] is None
    assert idn and phone


def test_two_registrations_of_one_applicant_at_once_hold_the_second_as_a_repeat(svc):
    """The duplicate check now runs before the dispute is added; the reference counter still orders
    concurrent registrations, so the later one sees the earlier one (PostgreSQL: real concurrency)."""
    if svc.ctx.settings.is_sqlite:
        pytest.skip("concurrent writers: PostgreSQL only")
    b = body(county(svc)["v"])
    out, errors = at_once(2, lambda: _reg(svc, b), timeout=30)
    assert not errors, repr(errors[0])
    assert sorted(d["state"] == "held_duplicate" for d in out) == [False, True]


# ---------------------------------------------------------------- the token lookup
def test_a_token_authenticates_until_its_user_is_deactivated(svc):
    from router.store.models import User

    token = svc.add_user(f"probe-{uuid.uuid4().hex[:6]}", "clerk")
    actor = svc.authenticate(token)
    assert isinstance(actor, Actor) and actor.role == "clerk"
    assert svc.authenticate(token + "x") is None
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.execute(update(User).where(User.name == actor.name).values(active=False))
    assert svc.authenticate(token) is None
