"""A registration's 受理编号 settled when its rows are written, not when its work begins
(docs/architecture.md §3).

Reference numbers come from a gap-free counter whose row stays locked from the moment a number is
taken until commit. Taken first, it held every other registration up for the whole of one: the
routing, the engine, the events. A registration is therefore worked out under a stand-in unique to
it, and `settle` puts the number taken at the end in its place: in the rows still buffered (events,
messages, timers, figures), in the new dispute's own columns, and in the hash chain of its events,
rehashed from the first, since the first (dispute.registered) names the reference.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import inspect

from router.store.chain import GENESIS, algorithm_of, row_hash
from router.store.models import Dispute, Event
from router.store.uow import UnitOfWork, set_columns

EVENTS = Event.__table__


class Unsettled(Exception):  # noqa: N818 - a signal to the caller, not an error to report
    """Something that holds the stand-in was written before it could be settled: number first instead."""


def stand_in() -> str:
    """A value no one types and no two registrations share."""
    return f"〔待编号{uuid.uuid4().hex}〕"


def settle(uow: UnitOfWork, token: str, value: str, d: Dispute) -> None:
    """Replace `token` with `value` everywhere the transaction still holds it, and rechain `d`'s events."""
    new = (d, *d.parties, *d.handoffs)
    if uow.written or not all(inspect(o).pending for o in new):
        raise Unsettled
    for _table, row in uow.buffered():
        _replace(row, token, value)
    for obj in new:
        for key, v in set_columns(obj).items():
            if (w := _replace(v, token, value)) is not v:
                setattr(obj, key, w)
    chain = sorted((row for table, row in uow.buffered() if table is EVENTS and row["stream"] == d.id),
                   key=lambda row: row["stream_seq"])
    if not chain or chain[0]["stream_seq"] != 1 or len(chain) != d.event_count:
        raise Unsettled
    prev, hashes, algorithm = GENESIS, {}, algorithm_of(uow.session)
    for row in chain:
        row["prev_hash"] = prev
        row["hash"] = hashes[row["id"]] = prev = row_hash(row, algorithm)
    for table, entry in uow.buffered():
        if table is None and entry["event_id"] in hashes:
            entry["hash"] = hashes[entry["event_id"]]
    d.event_head = prev


def _replace(v: Any, token: str, value: str) -> Any:
    """`v` with the token replaced: strings anew, dicts and lists in place (they are shared, e.g. an
    event's data by its row and its announcement)."""
    if isinstance(v, str):
        return v.replace(token, value) if token in v else v
    if isinstance(v, dict):
        for k, x in v.items():
            if (y := _replace(x, token, value)) is not x:
                v[k] = y
    elif isinstance(v, list):
        for i, x in enumerate(v):
            if (y := _replace(x, token, value)) is not x:
                v[i] = y
    return v
