"""Intake registration (受理登记): validate, number, store, layer, dispatch, hand off. One transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from router import metrics
from router.domain import ids
from router.domain.errors import ValidationError
from router.domain.intake import IntakeCommand, validate_intake
from router.domain.rules import decide
from router.schemas.common import dump
from router.schemas.intake import PreviewOut
from router.services import clock
from router.services.context import Actor, ServiceContext
from router.services.dispatch import apply_decision
from router.services.disposition import dispose
from router.services.duplicates import Who, likely_repeats
from router.services.idempotency import Idempotency
from router.services.merge import hold_duplicate
from router.services.operation import Operation
from router.services.scope import WHOLE, Scope, scope_of
from router.services.views import dispute_answer
from router.store.models import Dispute, IdempotencyKey, Party
from router.store.provisional import Unsettled, settle, stand_in
from router.store.uow import UnitOfWork

_PREVIEW = PreviewOut()


def register_dispute(ctx: ServiceContext, cmd: IntakeCommand, actor: Actor, *,
                     idempotency_key: str | None = None, body_hash: str | None = None) -> tuple[int, dict[str, Any]]:
    """Register one dispute; returns (HTTP-ish status, dispute view).

    With an idempotency key the first response is stored in the same transaction as the dispute,
    so a retried request returns it and creates nothing, even when the two race.
    """
    at = ctx.now()
    cmd = validate_intake(cmd, ctx.config.ruleset, ctx.config.divisions, at.astimezone(_tz(ctx)).date())
    if not scope_of(actor).allows(cmd.division):  # it would be theirs to register and then absent to them
        raise ValidationError(f"不在您的辖区范围内：{cmd.division}", f"division {cmd.division!r} is outside your area",
                              field="division")
    once = Idempotency(actor.id, idempotency_key, body_hash or "", "Idempotency-Key") if idempotency_key else None
    if once and (stored := once.lookup(ctx)) is not None:
        return stored
    try:
        try:
            view, op = _register(ctx, cmd, actor, at, once, number_first=False)
        except Unsettled:  # another registration changed what this one found: again, numbered first
            view, op = _register(ctx, cmd, actor, at, once, number_first=True)
        if view is None:
            view = dispute_answer(ctx, op.dispute, at)
        metrics.DISPUTES_REGISTERED.labels(cmd.category, str(cmd.source)).inc()
        return 201, view
    except IntegrityError:
        if once and (stored := once.lookup(ctx)) is not None:  # a concurrent request with the key came first
            return stored
        raise


def _register(ctx: ServiceContext, cmd: IntakeCommand, actor: Actor, at: datetime, once: Idempotency | None, *,
              number_first: bool) -> tuple[dict[str, Any] | None, Operation]:
    """One attempt, in one transaction. Unless `number_first`, the reference is taken at the end
    (store/provisional.py): nothing this computes holds up another registration until then. On
    SQLite its reads see the latest commit and the write lock waits for its first write."""
    with ctx.store.unit_of_work(write_late=not number_first) as uow:
        number = _Number(ctx, uow, at, first=number_first)
        d = _insert(ctx, uow, cmd, actor, at, number.reference)
        op = Operation(ctx, uow, d, actor, at)
        if cmd.referral is not None:  # the sender's own deadline is the dispute's outer one
            clock.sender_clock(op)
        if cmd.disposition is not None:  # decided at the window: not dispatched
            dispose(op, cmd.disposition)
        elif d.duplicate is not None:  # 并单 first: a person decides whether it is the same matter
            hold_duplicate(op)
        else:
            apply_decision(op, decide(cmd.facts(key=d.id), ctx.config.ruleset, ctx.registry()))
        number.take(d)
        detached = uow.insert_new_dispute(d)
        # The answer is built after the commit when it can be (the dispute is then a plain object in
        # memory), so SQLite's write lock and PostgreSQL's counter row are held that much shorter; an
        # answer kept for an Idempotency-Key is written with the dispute, so it is built before.
        view = dispute_answer(ctx, d, at) if once or not detached else None
        if once:
            view = once.remember(uow.session, 201, view, at)
    return view, op


class _Number:
    """The registration's 受理编号: taken at once when `first`, else a stand-in until `take`."""

    def __init__(self, ctx: ServiceContext, uow: UnitOfWork, at: datetime, *, first: bool) -> None:
        day = at.astimezone(_tz(ctx)).date()
        self.uow, self.year = uow, day.year
        self.counter, self.prefix = f"reference:{self.year}", ctx.config.divisions.centre.reference_prefix
        self.first = first
        # Registrations either side of midnight on 31 December number from two counters, so neither
        # waits for the other nor sees it in the last number given. On those two days every one takes
        # the lock of the earlier year's counter (which 1 January's moves by nothing) and asks the
        # duplicate check again: the two are then serialised on one row (docs/architecture.md §3).
        self.new_year, self.january = (day.month, day.day) in ((12, 31), (1, 1)), day.month == 1
        # Without the counter's lock, whatever commits before the number is taken goes unseen by the
        # duplicate check: the last number given says whether anything did.
        self.seen = 0 if first or self.new_year else uow.sequence_value(self.counter)
        self.reference = self._format(self._next()) if first else stand_in()

    def _format(self, seq: int) -> str:
        return ids.format_reference(self.prefix, self.year, seq)

    def _next(self) -> int:
        if self.new_year and self.january:  # the earlier year's row first: always locked in one order
            self.uow.next_in_sequence(f"reference:{self.year - 1}", 0)
        return self.uow.next_in_sequence(self.counter)

    def take(self, d: Dispute) -> None:
        """Take the number; raises Unsettled when a registration numbered meanwhile changes what the
        duplicate check finds (this one is then done again, numbered first)."""
        if self.first:
            return
        seq = self._next()
        if (self.new_year or seq != self.seen + 1) and _id(_repeat(self.uow.session, d)) != _id(d.duplicate):
            raise Unsettled
        settle(self.uow, self.reference, self._format(seq), d)


def first_answer(ctx: ServiceContext, actor: Actor, idempotency_key: str) -> dict[str, Any] | None:
    """The dispute a registration with this key made, if one did (a form submitted twice)."""
    with ctx.store.read() as s:
        row = s.get(IdempotencyKey, (actor.id, idempotency_key))
        return row.response if row is not None else None


def preview(ctx: ServiceContext, cmd: IntakeCommand, scope: Scope = WHOLE) -> dict[str, Any]:
    """预览分流: the routing decision a registration would get, and its likely earlier registrations
    (是否已登记？). Stores nothing."""
    at = ctx.now()
    cmd = validate_intake(cmd, ctx.config.ruleset, ctx.config.divisions, at.astimezone(_tz(ctx)).date())
    decision = decide(cmd.facts(), ctx.config.ruleset, ctx.registry())
    c = ctx.cipher
    who = [_who(c, str(p.role), p.id_number, p.credit_code, p.name, p.phone) for p in cmd.parties]
    with ctx.store.read() as s:
        repeats = [d for d in likely_repeats(s, cmd.category, who, at, limit=5 if scope.whole else 50)
                   if scope.allows(d.division)][:5]
        return dump(_PREVIEW, {"routing": decision.as_dict(), "likely_duplicates": repeats}, at, ctx.config)


def _tz(ctx: ServiceContext) -> Any:
    return ctx.config.calendar.tz


def _insert(ctx: ServiceContext, uow: UnitOfWork, cmd: IntakeCommand, actor: Actor, at: datetime,
            reference: str) -> Dispute:
    d = Dispute(id=str(uuid.uuid4()), reference=reference,
                state="received", category=cmd.category, tier=None, source=str(cmd.source), source_ref=cmd.source_ref,
                summary=cmd.summary, amount=cmd.amount, people_involved=cmd.people_involved, division=cmd.division,
                occurred_on=cmd.occurred_on, risk_flags=sorted(str(f) for f in cmd.risk_flags),
                features=sorted(str(f) for f in cmd.features), wish=str(cmd.wish), urgency=cmd.urgency,
                referral=cmd.referral,
                created_by=actor.id,
                created_at=at, updated_at=at, event_count=0, parties=[], handoffs=[])
    c = ctx.cipher
    for i, p in enumerate(cmd.parties):
        id_hashes = c.lookup_hashes(p.id_number, "id_number") if p.id_number else [None]
        phone_hashes = c.lookup_hashes(p.phone, "phone") if p.phone else [None]
        party = Party(
            idx=i, role=str(p.role), kind=str(p.kind), name=p.name, division=p.division, credit_code=p.credit_code,
            id_number_enc=c.encrypt(p.id_number, "id_number") if p.id_number else None,
            id_number_hash=id_hashes[0], id_number_masked=ids.mask_id_number(p.id_number) if p.id_number else None,
            phone_enc=c.encrypt(p.phone, "phone") if p.phone else None, phone_hash=phone_hashes[0],
            phone_masked=ids.mask_phone(p.phone) if p.phone else None, consent=p.consent,
            sharing_basis=p.sharing_basis)
        party.old_hashes = (tuple(id_hashes[1:]), tuple(phone_hashes[1:]))  # not a column: for _repeat only
        d.parties.append(party)
    # The check runs before the dispute is added, so nothing is flushed early: the dispute, its parties
    # and its handoffs are inserted once, with their final state, when the operation ends.
    dup = _repeat(uow.session, d)
    set_committed_value(d, "links", [])  # a new dispute has asked for no 联动 yet: no query to say so
    uow.session.add(d)
    data: dict[str, Any] = {"reference": d.reference, "category": d.category, "source": d.source,
                            "source_ref": d.source_ref, "division": d.division, "amount": d.amount,
                            "people_involved": d.people_involved, "risk_flags": d.risk_flags, "wish": d.wish,
                            **({"urgency": d.urgency} if d.urgency else {}),
                            "parties": [{"role": p.role, "kind": p.kind} for p in d.parties]}
    if dup is not None:
        d.duplicate = dup
        data["duplicate_of"] = {"id": dup.id, "reference": dup.reference}
    uow.append_event(type="dispute.registered", actor=actor.id, at=at, data=data, dispute=d)
    return d


def _repeat(s: Session, d: Dispute) -> Dispute | None:
    """The open dispute this registration most likely repeats (并单), if any. Asked again once `d` is
    in the session, it must neither flush `d` (insert_new_dispute writes it) nor find it."""
    with s.no_autoflush:
        found = likely_repeats(s, d.category, (Who(p.role, p.id_number_hash, p.credit_code, p.name, p.phone_hash,
                                                   *getattr(p, "old_hashes", ((), ()))) for p in d.parties),
                               d.created_at, not_id=d.id)
    return found[0] if found else None


def _who(c: Any, role: str, id_number: str | None, credit_code: str | None, name: str, phone: str | None) -> Who:
    id_hashes = c.lookup_hashes(id_number, "id_number") if id_number else [None]
    phone_hashes = c.lookup_hashes(phone, "phone") if phone else [None]
    return Who(role, id_hashes[0], credit_code, name, phone_hashes[0], tuple(id_hashes[1:]), tuple(phone_hashes[1:]))


def _id(d: Dispute | None) -> str | None:
    return d.id if d is not None else None
