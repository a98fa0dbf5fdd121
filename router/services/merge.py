"""并单 (docs/domain.md §8): a registration that looks like an open dispute's repeat is held, not
dispatched, until a clerk or a supervisor decides. Merged (并单), its parties are appended to the
open dispute and both timelines say so; 拆单 takes them out again and routes the registration as a
dispute of its own; confirmed as another matter (确认非重复), it routes at once.

A merge and a split change two disputes: both are locked in one order (by id), so two people
deciding about the same pair at once cannot deadlock, and the second finds the first's result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select

from router.domain.errors import NotFound, StateConflict, ValidationError
from router.domain.rules import decide
from router.services.context import Actor, ServiceContext
from router.services.dispatch import apply_decision
from router.services.duplicates import TARGETS
from router.services.facts import facts_of
from router.services.operation import Operation
from router.services.scope import scope_of
from router.store.models import Dispute, Party
from router.store.uow import jsonable
from router.workflows.dispute import DISPUTE, OPEN, DisputeState

DECISIONS = {"merge": ("merge", "并单"), "distinct": ("confirm_distinct", "确认非重复"), "split": ("split", "拆单")}


def hold_duplicate(op: Operation) -> None:
    """At intake: the registration waits for a person instead of being dispatched."""
    dup = op.dispute.duplicate
    assert dup is not None
    op.fire_dispute("hold_duplicate", extra={"reason": f"疑似与{dup.reference}为同一纠纷，暂缓分流待核实",
                                             "duplicate_of": {"id": dup.id, "reference": dup.reference}})


def decide_duplicate(ctx: ServiceContext, dispute_id: str, decision: str, reason: str, actor: Actor,
                     into: str | None = None) -> None:
    """Apply one decision to the registration `dispute_id` (and the dispute it is merged into or out of)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("请填写理由", "a reason is required", field="reason")
    if decision not in DECISIONS:
        raise ValidationError(f"未知的决定：{decision}", f"unknown decision {decision!r}", field="decision")
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        # Columns only, not the row: the ORM's copy must come from the locked read below.
        first = uow.session.execute(select(Dispute.duplicate_of, Dispute.merged_into, Dispute.division)
                                    .where(Dispute.id == dispute_id)).one_or_none()
        if first is None:
            raise NotFound("纠纷不存在", "no such dispute")
        scope = scope_of(actor)
        scope.require(first.division)
        other = _other(first, decision, into)
        with _locked(uow.session, dispute_id, other) as (d, target):
            if _other(d, decision, into) != other:  # changed before the locks were taken: decide again
                raise StateConflict("该纠纷刚被他人处理，请刷新后重试", "the dispute changed; try again", state=d.state)
            if decision != "distinct" and target is not None and not scope.allows(target.division):
                target = None  # as absent as one that does not exist, a repeat of the merge included
            trigger, name = DECISIONS[decision]
            if decision == "merge" and target is None:
                raise NotFound("要并入的纠纷不存在", "no such dispute to merge into", field="into")
            if decision == "merge" and d.state == DisputeState.MERGED and d.merged_into == other:
                return  # the same merge again (a retry, a second click): its first answer stands
            if trigger not in DISPUTE.triggers_from(d.state):
                raise DISPUTE.refuse(d.state, name, trigger)
            op = Operation(ctx, uow, d, actor, at)
            if decision == "distinct":
                op.fire_dispute("confirm_distinct", extra={"reason": reason})
                _route(op)
                return
            if target is None:
                raise NotFound("要并入的纠纷不存在", "no such dispute to merge into", field="into")
            if decision == "merge":
                merge(op, Operation(ctx, uow, target, actor, at), reason)
            else:
                split(op, Operation(ctx, uow, target, actor, at), reason)


def _other(d: Any, decision: str, into: str | None) -> str | None:
    if decision == "merge":
        return into or d.duplicate_of
    if decision == "split":
        return d.merged_into
    return None


@contextmanager
def _locked(s: Any, a: str, b: str | None) -> Iterator[tuple[Dispute, Dispute | None]]:
    got = {i: s.get(Dispute, i, with_for_update=True) for i in sorted({a, b} - {None})}
    yield got[a], (got.get(b) if b else None)  # type: ignore[misc]


def merge(op: Operation, into: Operation, reason: str) -> None:
    d, target = op.dispute, into.dispute
    if target.id == d.id:
        raise ValidationError("不能并入自身", "a dispute cannot be merged into itself", field="into")
    if target.state not in TARGETS or target.merged_into:
        raise StateConflict(f"{target.reference}已不在办理中，不能并入", f"{target.reference} is not open",
                            state=target.state, field="into")
    start = (op.uow.session.scalar(select(func.max(Party.idx)).where(Party.dispute_id == target.id)) or 0) + 1
    category = op.config.ruleset.categories.get(d.category)
    family = bool(category and category.mask_names)  # its persons stay 张某 on a dispute of another kind
    for i, p in enumerate(d.parties):
        target.parties.append(Party(
            idx=start + i, role=p.role, kind=p.kind, name=p.name, division=p.division, credit_code=p.credit_code,
            id_number_enc=p.id_number_enc, id_number_hash=p.id_number_hash, id_number_masked=p.id_number_masked,
            phone_enc=p.phone_enc, phone_hash=p.phone_hash, phone_masked=p.phone_masked, merged_from=d.id,
            consent=p.consent, sharing_basis=p.sharing_basis,
            mask_name=family or bool(p.mask_name)))
    d.merged_into, target.updated_at = target.id, op.at
    d.closure = jsonable({"code": "merged", "reason": reason, "into": target.reference, "at": op.at,
                          "by": op.actor.id})
    op.fire_dispute("merge", extra={"reason": reason, "into": {"id": target.id, "reference": target.reference}})
    op.uow.cancel_timers(op.at, dispute_id=d.id)
    into.event("dispute.merged_in", {"reason": reason, "parties": len(d.parties),
                                     "registration": {"id": d.id, "reference": d.reference}})


def split(op: Operation, into: Operation, reason: str) -> None:
    """拆单: the merge is undone and the registration routes as a dispute of its own."""
    d, target = op.dispute, into.dispute
    if target.state not in OPEN:  # its result stands for both (a 12345 work order has had its 回单)
        raise StateConflict(f"{target.reference}已办结，不能拆单；如确属另一纠纷，请重新登记",
                            f"{target.reference} is no longer open", state=target.state)
    moved = [p for p in target.parties if p.merged_from == d.id]
    for p in moved:
        target.parties.remove(p)  # delete-orphan: the copies go with the flush
    d.merged_into, d.closure, target.updated_at = None, None, op.at
    op.fire_dispute("split", extra={"reason": reason, "out_of": {"id": target.id, "reference": target.reference}})
    into.event("dispute.split_out", {"reason": reason, "parties": len(moved),
                                     "registration": {"id": d.id, "reference": d.reference}})
    _route(op)


def _route(op: Operation) -> None:
    apply_decision(op, decide(facts_of(op.dispute), op.config.ruleset, op.ctx.registry()))
