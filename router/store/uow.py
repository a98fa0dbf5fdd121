"""Unit of work: one service call is one transaction, with the helpers that write inside it
(opened by router/store/store.py).

State, events, outbox rows and timers produced by the engine are written here together, so a
crash can never leave a state change without its audit event or its message.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, TableClause, TextClause, bindparam, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql import visitors

from router.store import sealing
from router.store.chain import GENESIS, SYSTEM_STREAM, algorithm_of, event_hash
from router.store.models import Agency, Counter, Delivery, Dispute, Event, Handoff, Outbox, Party, Timer
from router.store.pii import PiiCipher
from router.workflows.dispute import DisputeState
from router.workflows.engine import Fired

SYSTEM_STREAM_LOCK = 0x7379735F63686169  # "sys_chai": the advisory lock key of the system chain

ARCHIVE_EVENT = "dispute.archive"  # the last event on an archived dispute's own chain

ANNOUNCE = "events"  # the outbox kind of a transaction's audit events, announced on router.events

# Outbox kinds delivered to an agency over HTTP (the rest go only to the broker).
HTTP_KINDS = frozenset({"handoff.offered", "handoff.urged", "handoff.recalled", "hotline.status", "hotline.reply",
                        "link.decided", "handoff.supervised", "referral.status", "referral.result"})


# Called with every event appended, inside its transaction: the read models that fold events
# (services/figures.py) are kept here, so they can never miss one or see one that rolls back.
EventObserver = Callable[["UnitOfWork", Event, "Dispute | None"], None]


EVENTS, OUTBOX, TIMERS, DELIVERIES, COUNTERS = (Event.__table__, Outbox.__table__, Timer.__table__,
                                                Delivery.__table__, Counter.__table__)
DISPUTES, PARTIES, HANDOFFS = Dispute.__table__, Party.__table__, Handoff.__table__
AGENCIES = Agency.__table__
_DELIVERY_MODE = select(Agency.__table__.c.delivery).where(Agency.__table__.c.code == bindparam("code"))
_VALUE = select(COUNTERS.c.value).where(COUNTERS.c.name == bindparam("counter"))
_BUMP = (update(COUNTERS).where(COUNTERS.c.name == bindparam("counter"))
         .values(value=COUNTERS.c.value + bindparam("by")).returning(COUNTERS.c.value))


class UnitOfWork:
    """One transaction's writes.

    The rows an operation only appends (events, outbox messages, timers, deliveries, and whatever an
    observer defers with `insert_later`) are kept in memory and written with one statement per table
    just before commit, rather than one round trip each as they arise (docs/architecture.md §3).
    Any statement of the transaction that reads or writes one of those tables first writes them, so
    the transaction always sees its own writes."""

    def __init__(self, session: Session, observers: tuple[EventObserver, ...] = (),
                 modes: Callable[[], dict[str, str]] | None = None, cipher: PiiCipher | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.session = session
        self._clock = clock
        self.observers = observers
        self.cipher = cipher  # keeps the originals of masked free text (store/sealing.py)
        self.sealed: dict[str, str] = {}  # place -> original kept there in this transaction
        self._modes = modes  # the agencies' delivery modes, as recently read (Store.delivery_modes)
        self._pending: dict[Table, dict[Any, dict[str, Any]]] = {}
        self._announce: list[dict[str, Any]] = []
        self.written = False  # has any buffered row been written yet?
        self._system_held = False  # the system chain's advisory lock, once taken, is held to the end
        session.info["uow"] = self

    def now(self) -> datetime:
        """The service clock (a test's clock too), for what the store stamps itself."""
        return self._clock() if self._clock is not None else datetime.now(UTC)

    # ----------------------------------------------------------------- rows written at the end
    def insert_later(self, table: Table, key: Any, row: dict[str, Any]) -> dict[str, Any]:
        """Buffer a row for `table`; the dict may still be changed until `pending_row` no longer finds it."""
        self._pending.setdefault(table, {})[key] = row
        return row

    def pending_row(self, table: Table, key: Any) -> dict[str, Any] | None:
        """The buffered row under `key`, or None once written (change it with an UPDATE then)."""
        rows = self._pending.get(table)
        return rows.get(key) if rows else None

    def write_pending(self) -> None:
        """Write every buffered row: one INSERT per table (per shape of row)."""
        if self._announce:
            events, self._announce = self._announce, []
            about = {e["dispute_id"] for e in events}
            # The events' data are JSON already (append_event): only their instants are not.
            self.add_message(ANNOUNCE, ANNOUNCE, {"events": [e | {"occurred_at": jsonable(e["occurred_at"])}
                                                             for e in events]},
                             at=events[-1]["occurred_at"], dispute_id=about.pop() if len(about) == 1 else None,
                             as_json=True)
        if not any(self._pending.values()):
            return
        pending, self._pending = self._pending, {}
        self.written = True
        conn = self.session.connection()
        deliveries = list(pending.pop(DELIVERIES, {}).values())
        if deliveries:
            # Feed positions are taken last, in one step, so the counter row is locked for as short a
            # time as possible; it stays locked until commit, so positions become visible in order.
            last = self.next_in_sequence("feed", len(deliveries))
            for i, row in enumerate(deliveries):
                row["feed_seq"] = last - len(deliveries) + 1 + i
            _release_connected(conn, deliveries)
            pending[DELIVERIES] = dict(enumerate(deliveries))
        for table, rows in pending.items():
            _insert_rows(conn, table, rows.values())

    def insert_new_dispute(self, d: Dispute) -> bool:
        """Write a dispute made in this transaction, its parties and its handoffs with one INSERT per
        table, and take them out of the ORM's hands: the ORM's flush of that graph costs more than
        its rows (bench/intake.py). When any of it was flushed already (something read the tables
        meanwhile), the ORM flushes the rest as usual. True when the objects left the session."""
        objs = [d, *d.parties, *d.handoffs]
        if not all(inspect(o).pending for o in objs):
            self.session.flush()
            return False
        d.version = d.version or 1
        if d.duplicate is not None:
            d.duplicate_of = d.duplicate.id
        conn = self.session.connection()
        parties = [set_columns(p) | {"dispute_id": d.id} for p in d.parties]
        handoffs = [set_columns(h) | {"dispute_id": d.id} for h in d.handoffs]
        dispute = set_columns(d)
        for table, rows in ((DISPUTES, [dispute]), (PARTIES, parties), (HANDOFFS, handoffs)):
            _insert_rows(conn, table, rows)
        for table, row in ((DISPUTES, dispute), *((HANDOFFS, h) for h in handoffs)):
            sealing.keep(self, f"{table.name}:{row['id']}", row, d.id, d.created_at)
        self.session.expunge(d)  # and, by its cascade, its parties and handoffs
        return True

    def before_statement(self, stmt: Any) -> None:
        """Write the buffered rows first when `stmt` may touch their tables (text anywhere in it is
        assumed to: text(), text().columns(), a select from text())."""
        waiting = {t.name for t, rows in self._pending.items() if rows} | ({OUTBOX.name} if self._announce else set())
        if waiting and _touches(stmt, waiting):
            self.write_pending()

    def buffered(self) -> Iterable[tuple[Table | None, dict[str, Any]]]:
        """Every row not yet written, with its table (None: an event still to be announced)."""
        for table, rows in self._pending.items():
            for row in rows.values():
                yield table, row
        for entry in self._announce:
            yield None, entry

    def forget_pending(self) -> None:
        """A savepoint rolled back: what was buffered since it began is not to be written (it began
        with the buffer written: `SavepointSession.begin_nested`)."""
        self._pending, self._announce = {}, []
        self.sealed = {}


    # ----------------------------------------------------------------- events
    def append_event(self, *, type: str, actor: str, at: datetime, data: dict[str, Any],
                     dispute: Dispute | None = None, handoff_id: str | None = None) -> Event:
        """Append to the dispute's chain (or the system chain) and move its head.

        An archived dispute's chain ends with its archiving: its case file is signed over that head
        (docs/reports.md §8). Whatever is recorded about it afterwards (a notice delivered late, a
        warning cleared) goes on the system chain, naming the dispute."""
        about = dispute.id if dispute is not None else None
        if dispute is not None and dispute.state == DisputeState.ARCHIVED and type != ARCHIVE_EVENT:
            data, dispute = {**data, "after_archiving": True}, None
        if dispute is not None:
            stream, seq, prev = dispute.id, dispute.event_count + 1, dispute.event_head or GENESIS
        else:
            self._hold_system_stream()
            last = self.session.execute(
                select(Event.stream_seq, Event.hash).where(Event.stream == SYSTEM_STREAM)
                .order_by(Event.stream_seq.desc()).limit(1)).first()
            stream, seq, prev = SYSTEM_STREAM, (last[0] + 1 if last else 1), (last[1] if last else GENESIS)
        e = Event(id=str(uuid.uuid4()), stream=stream, stream_seq=seq, dispute_id=about,
                  handoff_id=handoff_id, type=type, actor=actor, occurred_at=at, data=jsonable(data),
                  prev_hash=prev)
        e.hash = event_hash(e, algorithm_of(self.session))
        sealing.keep(self, f"events:{e.id}", e.data, about, at)
        self.insert_later(EVENTS, e.id, {"id": e.id, "stream": stream, "stream_seq": seq, "dispute_id": about,
                                         "handoff_id": handoff_id, "type": type, "actor": actor, "occurred_at": at,
                                         "data": e.data, "prev_hash": prev, "hash": e.hash})
        # Every audit event also goes to the router.events topic exchange for outside subscribers: all of
        # a transaction's in one outbox row (ANNOUNCE), which the relay publishes one message each.
        self._announce.append({"event_id": e.id, "type": type, "dispute_id": e.dispute_id, "handoff_id": handoff_id,
                               "actor": actor, "occurred_at": at, "data": e.data, "hash": e.hash})
        if dispute is not None:
            dispute.event_count, dispute.event_head = seq, e.hash
        for observe in self.observers:
            observe(self, e, dispute)
        return e

    def _hold_system_stream(self) -> None:
        """The system chain has no row to lock (a dispute's chain is locked with its dispute): two
        transactions appending to it at once would read the same head and one would fail on the
        unique (stream, seq). On PostgreSQL a transaction-scoped advisory lock makes them take
        turns; SQLite's one writer already does."""
        if not self._system_held and self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SYSTEM_STREAM_LOCK})
        self._system_held = True

    def apply(self, fired: Fired, *, actor: str, at: datetime, dispute: Dispute,
              handoff_id: str | None = None, extra: dict[str, Any] | None = None) -> None:
        """Write everything one engine transition produced."""
        for i, ev in enumerate(fired.events):
            data = dict(ev.data)
            if i == 0 and extra:
                data.update(extra)
            self.append_event(type=ev.type, actor=actor, at=at, data=data, dispute=dispute, handoff_id=handoff_id)
        for m in fired.outbox:
            self.add_message(m.kind, m.routing_key, m.payload, at=at, dispute_id=dispute.id,
                             handoff_id=m.payload.get("handoff_id", handoff_id))
        for t in fired.timers:
            self.add_timer(t.kind, t.due_at, t.rule, at=at, dispute_id=dispute.id,
                           handoff_id=t.data.get("handoff_id", handoff_id), data=t.data)

    def add_timer(self, kind: str, due_at: datetime, rule: str | None, *, at: datetime, dispute_id: str,
                  handoff_id: str | None = None, data: dict[str, Any] | None = None) -> None:
        """A timer row for the scheduler, written with the transaction."""
        rows = self._pending.get(TIMERS)
        self.insert_later(TIMERS, len(rows) if rows else 0, {
            "kind": kind, "due_at": due_at, "rule": rule or "", "dispute_id": dispute_id, "handoff_id": handoff_id,
            "data": jsonable(data or {}), "created_at": at})

    def cancel_timers(self, at: datetime, *, handoff_id: str | None = None, dispute_id: str | None = None,
                      kinds: tuple[str, ...] | None = None) -> None:
        """Retire a handoff's (or a dispute's) pending timers, all of them or only `kinds`. Those still
        buffered are retired in memory; a dispute or handoff made in this transaction has no others
        until something is written, so it costs no statement (a 当场化解 fulfilled at the window)."""
        key, target = ("handoff_id", handoff_id) if handoff_id else ("dispute_id", dispute_id)
        for row in self._pending.get(TIMERS, {}).values():
            if row[key] == target and row.get("cancelled_at") is None and (not kinds or row["kind"] in kinds):
                row["cancelled_at"] = at
        if not self.written and self._made_here(Handoff if handoff_id else Dispute, target):
            return
        q = update(Timer).where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
        q = q.where(Timer.handoff_id == handoff_id) if handoff_id else q.where(Timer.dispute_id == dispute_id)
        if kinds:
            q = q.where(Timer.kind.in_(kinds))
        self.session.execute(q.values(cancelled_at=at).execution_options(synchronize_session=False))

    def _made_here(self, model: type, ident: str | None) -> bool:
        """Is the row still only a pending object of this transaction (never flushed)?"""
        return any(type(o) is model and o.id == ident for o in self.session.new)

    def add_message(self, kind: str, routing_key: str, payload: dict[str, Any], *, at: datetime,
                    dispute_id: str | None = None, handoff_id: str | None = None, as_json: bool = False) -> None:
        """An outbox row; a message that goes to an agency over HTTP also gets its delivery row.
        `as_json`: the payload holds JSON values only, as it is."""
        oid = str(uuid.uuid4())
        self.insert_later(OUTBOX, oid, {"id": oid, "kind": kind, "routing_key": routing_key,
                                        "payload": payload if as_json else jsonable(payload), "dispute_id": dispute_id,
                                        "handoff_id": handoff_id, "created_at": at, "published_at": None,
                                        "attempts": 0})
        if kind in HTTP_KINDS:
            # An agency without a system is not sent anything: the delivery is held for its pull, or for the
            # clerk who hands the file over on paper (docs/agency-guide.md §1).
            held = self._mode(payload["agency"]) not in (None, "push")
            # The feed position (feed_seq) comes from one counter row when the rows are written, locked
            # until this commits: positions become visible in order, so a reader that saw n has seen
            # everything before n. One row for every agency, so two transactions never wait on each
            # other's rows in opposite orders.
            did = str(uuid.uuid4())
            self.insert_later(DELIVERIES, did, {
                "id": did, "outbox_id": oid, "kind": kind, "body_type": routing_key, "agency_code": payload["agency"],
                "dispute_id": dispute_id, "handoff_id": handoff_id, "state": "held" if held else "pending",
                "attempts": 0, "next_attempt_at": at, "created_at": at, "updated_at": at, "feed_seq": None})

    def _mode(self, code: str) -> str | None:
        """The agency's delivery mode: as this transaction has it, else as recently read."""
        loaded = self.session.identity_map.get(self.session.identity_key(Agency, code))
        if loaded is not None:
            return loaded.delivery
        if self._modes is not None and (mode := self._modes().get(code)) is not None:
            return mode
        return self.session.connection().execute(_DELIVERY_MODE, {"code": code}).scalar()

    # ----------------------------------------------------------------- sequences
    def sequence_value(self, name: str) -> int:
        """The counter's last committed value (0 before its first use); takes no lock."""
        row = self.session.connection().execute(_VALUE, {"counter": name}).first()
        return int(row[0]) if row is not None else 0

    def next_in_sequence(self, name: str, n: int = 1) -> int:
        """Gap-free per-name counter, moved by `n`; returns its new value. The row lock serialises
        concurrent writers until commit. On the connection, so it flushes nothing of the ORM's."""
        conn, params = self.session.connection(), {"counter": name, "by": n}
        row = conn.execute(_BUMP, params).first()
        if row is not None:
            return int(row[0])
        try:
            with conn.begin_nested():
                conn.execute(insert(COUNTERS).values(name=name, value=n))
            return n
        except IntegrityError:  # another transaction created it first
            return int(conn.execute(_BUMP, params).one()[0])


def _release_connected(conn: Connection, deliveries: list[dict[str, Any]]) -> None:
    """A delivery held because its agency had no system when the message was made is sent after all
    when the agency was given one meanwhile. Asked holding the feed counter's lock, which an
    agencies.yaml sync waits for once after it connects an agency and before it releases what it
    finds held (services/admin.py `release_connected`): one of the two always sees the other's rows."""
    held = {row["agency_code"] for row in deliveries if row["state"] == "held"}
    if not held:
        return
    now_push = set(conn.execute(select(AGENCIES.c.code).where(AGENCIES.c.code.in_(held),
                                                              AGENCIES.c.delivery == "push")).scalars())
    for row in deliveries:
        if row["state"] == "held" and row["agency_code"] in now_push:
            row["state"] = "pending"


def _insert_rows(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """One executemany INSERT per shape of row: every row of one statement must name the same columns
    (an unnamed one takes its column default)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    for same in shapes.values():
        conn.execute(_insert_into(table), same)


@functools.cache
def _insert_into(table: Table) -> Any:
    """One INSERT statement per table, built once (its cache key is then computed once too)."""
    return insert(table)


def set_columns(obj: Any) -> dict[str, Any]:
    """The column values set on a new mapped object (the unset ones get their column defaults)."""
    st = inspect(obj)
    return {a.key: st.dict[a.key] for a in st.mapper.column_attrs if a.key in st.dict}


def _touches(stmt: Any, names: set[str]) -> bool:
    """Does `stmt` name one of the tables (by name: a table() clause too), or hold text anywhere?"""
    return any(isinstance(e, TextClause) or (isinstance(e, TableClause) and e.name in names)
               for e in visitors.iterate(stmt))


class SavepointSession(Session):
    """A session whose savepoints begin with the unit of work's buffer written, so that rows made
    before a savepoint are not its to roll back."""

    def begin_nested(self) -> SessionTransaction:
        uow = self.info.get("uow")
        if uow is not None:
            uow.write_pending()
        return super().begin_nested()


def after_soft_rollback_hook(session: Session, previous: SessionTransaction) -> None:
    """A savepoint's rollback also drops the rows buffered inside it."""
    uow = session.info.get("uow")
    if uow is not None and previous.nested:
        uow.forget_pending()


def before_statement_hook(state: ORMExecuteState) -> None:
    """The sessions' do_orm_execute hook: a unit of work writes what it buffered before a statement needs it."""
    uow = state.session.info.get("uow")
    if uow is not None:
        uow.before_statement(state.statement)


def jsonable(v: Any) -> Any:
    """Events and messages store JSON: datetimes as RFC 3339, decimals as strings."""
    t = type(v)  # the common cases first, by exact type: this runs some sixty times per registration
    if t is str or t is int or v is None or t is bool or t is float:
        return v
    if t is dict:
        return {k if type(k) is str else str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        return [jsonable(x) for x in v]
    if isinstance(v, datetime):  # one zone for every stored instant: UTC, like the columns
        return (v.astimezone(UTC) if v.tzinfo is not None else v).isoformat()
    if isinstance(v, bool | int | float | str):
        return v
    return str(v)
