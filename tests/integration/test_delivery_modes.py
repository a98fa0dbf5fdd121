"""The agencies' delivery modes as the store last read them (Store.delivery_modes): a registration
asks no query for them, and a stale answer, either way, loses no delivery."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update

from router.store.models import Agency, Delivery
from tests.builders import CLERK, body, command, county


def _offered(svc: Any, dispute_id: str) -> list[Delivery]:
    with svc.ctx.store.read() as s:
        return list(s.scalars(select(Delivery).where(Delivery.dispute_id == dispute_id,
                                                     Delivery.kind == "handoff.offered")))


def test_a_registration_reads_no_delivery_mode(svc):
    svc.register_dispute(command(body(county(svc)["v"])), CLERK)  # the modes read once
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(svc.ctx.store.engine, "before_cursor_execute", count)
    try:
        d = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    finally:
        event.remove(svc.ctx.store.engine, "before_cursor_execute", count)
    assert _offered(svc, d["id"]) and not [s for s in seen if "FROM agencies" in s], seen


def test_a_stale_pull_for_an_agency_connected_since_still_sends(svc, monkeypatch):
    """The store still believes every agency pulls; the database says push: the delivery is sent."""
    monkeypatch.setattr(svc.ctx.store, "delivery_modes", lambda: {a: "pull" for a in svc.ctx.registry().by_code})
    d = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    rows = _offered(svc, d["id"])
    assert rows and {r.state for r in rows} == {"pending"}


def test_a_stale_push_for_an_agency_disconnected_since_is_held_when_claimed(svc, monkeypatch):
    """The store still believes push; the agency pulls now: written pending, the worker's claim holds it
    for the agency's pull instead of sending it."""
    monkeypatch.setattr(svc.ctx.store, "delivery_modes", lambda: {a: "push" for a in svc.ctx.registry().by_code})
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.execute(update(Agency).values(delivery="pull"))
    try:
        d = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
        rows = _offered(svc, d["id"])
        assert rows and {r.state for r in rows} == {"pending"}
        assert all(svc.claim_delivery(r.id, "w1") is None for r in rows)
        assert {r.state for r in _offered(svc, d["id"])} == {"held"}
    finally:
        with svc.ctx.store.unit_of_work() as uow:
            uow.session.execute(update(Agency).values(delivery="push"))


def test_every_sync_sends_what_is_held_for_a_push_agency(svc):
    """A sync that stopped between connecting an agency and releasing its deliveries (or any other way a
    delivery came to be held for a push agency) is healed by the next sync, which changes nothing else."""
    svc.sync_agencies()  # the agencies as configured, whatever an earlier test left
    d = svc.register_dispute(command(body(county(svc)["v"])), CLERK)[1]
    (row,) = _offered(svc, d["id"])
    with svc.ctx.store.unit_of_work() as uow:
        uow.session.execute(update(Delivery).where(Delivery.id == row.id).values(state="held"))
    counts = svc.sync_agencies()
    assert counts["released"] == 1 and counts["updated"] == 0
    assert [r.state for r in _offered(svc, d["id"])] == ["pending"]
    assert svc.sync_agencies()["released"] == 0
