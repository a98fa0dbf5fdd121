"""受理编号 taken when a registration's rows are written (store/provisional.py): the work before it runs
under a stand-in, so numbers stay gap-free and in commit order, the duplicate check still sees a
twin that committed meanwhile, and no trace of the stand-in is ever stored."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text

from router.services import intake
from router.store.chain import verify_stream
from router.store.models import Dispute, Event
from router.store.provisional import Unsettled, settle, stand_in
from tests.builders import CLERK, at_once, body, command, county, events_of
from tests.integration.test_issue13_review2_probes import VARIANTS, _intake

REF = re.compile(r"〔(\d{4})〕(\d{6})号")


def _seq(reference: str) -> int:
    m = REF.search(reference)
    assert m, reference
    return int(m.group(2))


def test_parallel_twins_get_gap_free_numbers_and_all_but_one_are_held(svc):
    """Eight registrations of one applicant at once: numbers 1..8 higher than before, no gaps, and
    the duplicate check catches every twin, as it did when the number was taken first."""
    b = body(county(svc)["v"])
    before = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    results, errors = at_once(8, lambda: svc.register_dispute(command(b), CLERK)[1])
    assert errors == []
    seqs = sorted(_seq(r["reference"]) for r in results)
    assert seqs == list(range(_seq(before["reference"]) + 1, _seq(before["reference"]) + 9))
    states = sorted(r["state"] for r in results)
    assert states.count("held_duplicate") == 7, states
    with svc.ctx.store.read() as s:
        for r in results:
            assert verify_stream(s, r["id"]) is None
            assert s.get(Dispute, r["id"]).reference == r["reference"]
    assert svc.verify_chain()["ok"]


def test_a_twin_committed_meanwhile_is_found_and_the_registration_is_numbered_first(svc, monkeypatch):
    """A twin that commits while this registration is being routed: the number taken at the end says
    something was numbered meanwhile, the check finds the twin, and the registration is done again,
    numbered first, and held."""
    b = body(county(svc)["v"])
    real, calls, twin = intake.apply_decision, [], {}

    def route_while_a_twin_commits(op: Any, decision: Any) -> None:
        calls.append(op.dispute.reference)
        if len(calls) == 1:  # in another thread: on SQLite this transaction holds no lock yet
            t = threading.Thread(target=lambda: twin.update(svc.register_dispute(command(b), CLERK)[1]))
            t.start()
            t.join(30)
        real(op, decision)

    monkeypatch.setattr(intake, "apply_decision", route_while_a_twin_commits)
    status, mine = svc.register_dispute(command(b), CLERK)
    assert status == 201 and twin["state"] == "handed_off"
    assert mine["state"] == "held_duplicate" and mine["duplicate_of"]["id"] == twin["id"]
    assert _seq(mine["reference"]) == _seq(twin["reference"]) + 1
    assert "待编号" in calls[0]  # the first attempt ran under the stand-in
    kinds = [e.type for e in events_of(svc, mine["id"])]
    assert kinds[:2] == ["dispute.registered", "dispute.hold_duplicate"]
    assert events_of(svc, mine["id"])[0].data["reference"] == mine["reference"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_number_reaches_every_row_and_the_chain(svc, variant):
    """Each kind of registration: its first event names the final reference, its chain verifies, and
    the stand-in is nowhere in the database (events, messages, deliveries, timers, figures, answers)."""
    cmd, actor, key, _no = _intake(svc, variant)
    d = svc.register_dispute(cmd, actor, idempotency_key=key, body_hash="probe" if key else None)[1]
    assert "待编号" not in str(d)
    with svc.ctx.store.read() as s:
        first = s.scalars(select(Event).where(Event.stream == d["id"]).order_by(Event.stream_seq)).first()
        assert first.data["reference"] == d["reference"] and verify_stream(s, d["id"]) is None
        conn = s.connection()
        for table in sa_inspect(conn).get_table_names():
            for col in sa_inspect(conn).get_columns(table):
                n = conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE CAST("{col["name"]}" AS TEXT) LIKE :p'),
                                 {"p": "%待编号%"}).scalar()
                assert n == 0, (table, col["name"])


def test_settling_after_the_buffer_was_written_refuses(svc):
    """Rows already written hold the stand-in: settle says so instead of leaving them behind."""
    cmd = command(body(county(svc)["v"]))
    token = stand_in()
    with pytest.raises(Unsettled), svc.ctx.store.unit_of_work() as uow:
        d = intake._insert(svc.ctx, uow, cmd, CLERK, svc.ctx.now(), token)
        uow.write_pending()
        settle(uow, token, "诸暨调〔2026〕999998号", d)
