"""Keeping the report figures (docs/reports.md §2): every event a dispute appends is folded into its
figures rows in the same transaction, and `rebuild` replays the whole log through the same fold.

The incremental path writes with Core statements (no ORM autoflush mid-operation); the rebuild folds
one dispute's events in memory and inserts its rows in bulk. Both use router/domain/figures.py, so a
rebuilt table equals the kept one (tests/integration/test_figures.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from router.domain.figures import (
    DISPUTE_EVENTS,
    FOLLOW_UP_EVENT,
    HANDOFF_EVENTS,
    confirmation_changes,
    dispute_changes,
    follow_up_of,
    handoff_changes,
    lead_changes,
)
from router.services.context import ServiceContext
from router.store.models import Dispute, Event
from router.store.report_models import DisputeFigures, FollowUp, HandoffFigures
from router.store.uow import UnitOfWork

WATCHED = DISPUTE_EVENTS | HANDOFF_EVENTS | {FOLLOW_UP_EVENT}
DF, HF, FU = DisputeFigures.__table__, HandoffFigures.__table__, FollowUp.__table__
DIMS = ("district", "town", "village", "category", "source", "agency", "tier")
HANDOFF_DIMS = ("district", "town", "village", "category", "source")


def places(ctx: ServiceContext, division: str) -> dict[str, str | None]:
    """The division's district, town and village (None above the division's own level)."""
    out: dict[str, str | None] = {"district": None, "town": None, "village": None}
    for d in ctx.config.divisions.path(division):
        if d.level in out:
            out[d.level] = d.code
    return out


def tier_lookup(ctx: ServiceContext) -> Callable[[str], str | None]:
    registry = ctx.registry()

    def tier_of(code: str) -> str | None:
        a = registry.by_code.get(code)
        return str(a.tier) if a else None

    return tier_of


def _local(ctx: ServiceContext, at: datetime) -> date:
    return at.astimezone(ctx.config.calendar.tz).date()


# --------------------------------------------------------------------------- in the event's transaction
def observer(ctx: ServiceContext) -> Callable[[UnitOfWork, Event, Dispute | None], None]:
    def project(uow: UnitOfWork, e: Event, dispute: Dispute | None) -> None:
        if dispute is not None and e.type in WATCHED:
            _project(ctx, uow, e, dispute.id)

    return project


def _project(ctx: ServiceContext, uow: UnitOfWork, e: Event, dispute_id: str) -> None:
    """Fold one event into the rows. A row made in this transaction is still in memory
    (UnitOfWork.insert_later) and is changed there, so a registration writes each row once."""
    s, on, tier_of = uow.session, _local(ctx, e.occurred_at), tier_lookup(ctx)
    if e.type == "dispute.registered":
        changes = dispute_changes(e.type, e.data, on, tier_of, resolved=False)
        uow.insert_later(DF, dispute_id, {**_blank_dispute(), "dispute_id": dispute_id, **changes,
                                          **places(ctx, changes["division"])})
        return
    row = uow.pending_row(DF, dispute_id)
    if e.type == FOLLOW_UP_EVENT:
        dims = ({k: row[k] for k in DIMS} if row else
                s.execute(select(*(DF.c[k] for k in DIMS)).where(_of(dispute_id))).one()._asdict())
        s.execute(insert(FU).values(event_id=e.id, dispute_id=dispute_id, **dims, **follow_up_of(e.data, on)))
        return
    changes = {}
    if e.type in DISPUTE_EVENTS:
        resolved = e.type == "dispute.close" and (
            row["resolved_on"] if row else s.scalar(select(DF.c.resolved_on).where(_of(dispute_id)))) is not None
        changes = dispute_changes(e.type, e.data, on, tier_of, resolved=resolved)
    changes |= lead_changes(e.type, e.data, tier_of) | confirmation_changes(e.type, e.data, on)
    if changes and row is not None:
        row.update(changes)
    elif changes:
        s.execute(update(DF).where(_of(dispute_id)).values(**changes))
    if e.handoff_id and e.type in HANDOFF_EVENTS:
        hchanges = handoff_changes(e.type, e.data, e.occurred_at, on, tier_of)
        if e.type == "handoff.offer":
            dims = ({k: row[k] for k in HANDOFF_DIMS} if row else
                    s.execute(select(*(DF.c[k] for k in HANDOFF_DIMS)).where(_of(dispute_id))).one()._asdict())
            uow.insert_later(HF, e.handoff_id, {**_blank_handoff(), "handoff_id": e.handoff_id,
                                                "dispute_id": dispute_id, **dims, **hchanges})
        elif hchanges and (hrow := uow.pending_row(HF, e.handoff_id)) is not None:
            hrow.update(hchanges)
        elif hchanges:
            s.execute(update(HF).where(HF.c.handoff_id == e.handoff_id).values(**hchanges))


def _of(dispute_id: str) -> Any:
    """The dispute's row, for a statement: built only when a row is not in memory (it costs more than
    the rest of a fold)."""
    return DF.c.dispute_id == dispute_id


# --------------------------------------------------------------------------- from the log again
def fold(ctx: ServiceContext, events: Iterable[Event]) -> tuple[dict[str, Any] | None, list[dict[str, Any]],
                                                                list[dict[str, Any]]]:
    """One dispute's figures, folded in memory from its events in order."""
    tier_of = tier_lookup(ctx)
    row: dict[str, Any] | None = None
    handoffs: dict[str, dict[str, Any]] = {}
    follow_ups: list[dict[str, Any]] = []
    for e in events:
        if e.type not in WATCHED:
            continue
        on = _local(ctx, e.occurred_at)
        if e.type == "dispute.registered":
            changes = dispute_changes(e.type, e.data, on, tier_of, resolved=False)
            row = {**_blank_dispute(), "dispute_id": e.dispute_id, **changes, **places(ctx, changes["division"])}
            continue
        if row is None:
            continue
        if e.type == FOLLOW_UP_EVENT:
            follow_ups.append({"event_id": e.id, "dispute_id": e.dispute_id, **{k: row[k] for k in DIMS},
                               **follow_up_of(e.data, on)})
            continue
        if e.type in DISPUTE_EVENTS:
            row.update(dispute_changes(e.type, e.data, on, tier_of, resolved=row["resolved_on"] is not None))
        row.update(lead_changes(e.type, e.data, tier_of) | confirmation_changes(e.type, e.data, on))
        if e.handoff_id and e.type in HANDOFF_EVENTS:
            hchanges = handoff_changes(e.type, e.data, e.occurred_at, on, tier_of)
            if e.type == "handoff.offer":
                handoffs[e.handoff_id] = {**_blank_handoff(), "handoff_id": e.handoff_id, "dispute_id": e.dispute_id,
                                          **{k: row[k] for k in HANDOFF_DIMS},
                                          **hchanges}
            elif e.handoff_id in handoffs:
                handoffs[e.handoff_id].update(hchanges)
    return row, list(handoffs.values()), follow_ups


def _blank_dispute() -> dict[str, Any]:
    return {c.name: (False if c.name in ("flagged", "escalation_risk") else None) for c in DF.columns}


def _blank_handoff() -> dict[str, Any]:
    return {c.name: (False if c.name == "stopped" else None) for c in HF.columns}


def rebuild(ctx: ServiceContext, batch: int = 500, progress: Callable[[int], None] | None = None) -> int:
    """Fold every dispute's events again and replace its figures; returns the number of disputes.

    Safe on a running service: each batch is one transaction that locks its disputes (as every
    operation on a dispute does), so an event is either in the log the batch folds or applied by
    the observer to the rows the batch wrote, and no dispute is ever without its row."""
    done = 0
    for ids in _batches(ctx, batch):
        with ctx.store.unit_of_work() as uow:
            s = uow.session
            lock = select(Dispute.id).where(Dispute.id.in_(ids)).order_by(Dispute.id)
            s.execute(lock if ctx.settings.is_sqlite else lock.with_for_update())
            events = s.scalars(select(Event).where(Event.stream.in_(ids))
                               .order_by(Event.stream, Event.stream_seq)).all()
            rows: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]] = ([], [], [])
            by_stream: dict[str, list[Event]] = {}
            for e in events:
                by_stream.setdefault(e.stream, []).append(e)
            for stream in ids:
                row, handoffs, follow_ups = fold(ctx, by_stream.get(stream, ()))
                if row is not None:
                    rows[0].append(row)
                    rows[1].extend(handoffs)
                    rows[2].extend(follow_ups)
            for t in (FU, HF, DF):
                s.execute(delete(t).where(t.c.dispute_id.in_(ids)))
            for table, items in zip((DF, HF, FU), rows, strict=True):
                if items:
                    s.execute(insert(table), items)
        done += len(ids)
        if progress:
            progress(len(ids))
    return done


def _batches(ctx: ServiceContext, size: int) -> Iterator[list[str]]:
    after = ""
    while True:
        with ctx.store.read() as s:
            ids = list(s.scalars(select(Dispute.id).where(Dispute.id > after).order_by(Dispute.id).limit(size)))
        if not ids:
            return
        yield ids
        after = ids[-1]


def missing(ctx: ServiceContext) -> bool:
    """Disputes without figures: a database from before the figures existed needs a rebuild."""
    with ctx.store.read() as s:
        return (s.scalar(select(func.count()).select_from(Dispute)) or 0) > \
            (s.scalar(select(func.count()).select_from(DF)) or 0)
