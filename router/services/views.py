"""Read models: a dispute and lists of them as staff see them (personal data masked), and the
reference data. The shapes are the schemas' (router/schemas/); this module only finds the rows."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from router.domain import ids
from router.domain.errors import NotFound, ValidationError
from router.schemas.common import dump
from router.schemas.disputes import DisputeOut
from router.schemas.reference import AgencyOut, CategoryOut, DivisionOut
from router.services.context import Actor, ServiceContext
from router.services.scope import WHOLE, Scope, scope_of
from router.store.models import Agency, Dispute, Handoff, Party
from router.workflows.handoff import HANDLING, WAITING

_DISPUTE, _DISPUTES = DisputeOut(), DisputeOut(many=True)
_LOADED = (selectinload(Dispute.parties), selectinload(Dispute.handoffs), selectinload(Dispute.duplicate),
           selectinload(Dispute.merged_target), selectinload(Dispute.links))


def dispute_answer(ctx: ServiceContext, d: Dispute, now: datetime) -> dict[str, Any]:
    return dump(_DISPUTE, d, now, ctx.config)


def get_dispute(ctx: ServiceContext, dispute_id: str, scope: Scope = WHOLE) -> dict[str, Any]:
    with ctx.store.read() as s:
        d = s.get(Dispute, dispute_id, options=_LOADED)
        if d is None:
            raise NotFound("纠纷不存在", "no such dispute")
        scope.require(d.division)
        answer = dispute_answer(ctx, d, ctx.now())
    return hide_outside(ctx, answer, scope)  # its own short read, after this one has ended


OUTSIDE = "另一辖区的登记"  # what a scoped viewer reads instead of another division's 受理编号


def hide_outside(ctx: ServiceContext, answer: Any, scope: Scope) -> Any:
    """An answer as a scoped viewer may read it: another division's dispute that it names (the likely
    earlier registration of a held one, a merge's target or source, in its fields, its events' data
    and their reasons) becomes {id: null, reference: null, outside_scope: true}, its 受理编号 in a
    text 另一辖区的登记, its id null. Duplicate detection stays centre-wide; what it shows does not."""
    if scope.whole:
        return answer
    ids: set[str] = set()
    refs: set[str] = set()

    def collect(x: Any) -> None:
        if isinstance(x, dict):
            if isinstance(x.get("id"), str) and isinstance(x.get("reference"), str):
                ids.add(x["id"])
                refs.add(x["reference"])
            for k, v in x.items():
                if k in ("into", "merged_from") and isinstance(v, str):
                    (refs if k == "into" else ids).add(v)
                collect(v)
        elif isinstance(x, list):
            for v in x:
                collect(v)
    collect(answer)
    if not ids and not refs:
        return answer
    with ctx.store.read() as s:
        rows = s.execute(select(Dispute.id, Dispute.reference, Dispute.division)
                         .where(or_(Dispute.id.in_(ids), Dispute.reference.in_(refs)))).all()
    hidden = {r.id: r.reference for r in rows if not scope.allows(r.division)}
    if not hidden:
        return answer
    hidden_refs = set(hidden.values())

    def redact(x: Any) -> Any:
        if isinstance(x, dict):
            if x.get("id") in hidden and "reference" in x:
                return {**{k: None for k in x}, "outside_scope": True}
            return {k: redact(v) for k, v in x.items()}
        if isinstance(x, list):
            return [redact(v) for v in x]
        if isinstance(x, str):
            if x in hidden:
                return None
            for ref in hidden_refs:
                x = x.replace(ref, OUTSIDE)
        return x
    return redact(answer)


def require_visible(ctx: ServiceContext, dispute_id: str, scope: Scope) -> None:
    """404 for a dispute that does not exist or lies outside the scope, before any other work on it."""
    if scope.whole:
        return
    with ctx.store.read() as s:
        scope.require(s.scalar(select(Dispute.division).where(Dispute.id == dispute_id)))


@dataclass(frozen=True)
class DisputeFilter:
    state: str | None = None
    category: str | None = None
    agency: str | None = None
    tier: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool | None = None
    page: int = 1
    per_page: int = 20


def list_disputes(ctx: ServiceContext, f: DisputeFilter, scope: Scope = WHOLE) -> dict[str, Any]:
    """One page of disputes, newest first: {items, total, page, per_page}."""
    if f.category and f.category not in ctx.config.ruleset.categories:
        raise ValidationError(f"未知的纠纷类型：{f.category}", f"unknown category {f.category!r}", field="category")
    if f.agency and f.agency not in ctx.registry().by_code:
        raise ValidationError(f"承办单位不存在：{f.agency}", f"unknown agency {f.agency!r}", field="agency")
    q = select(Dispute).where(scope.where(Dispute.division))
    if f.state:
        q = q.where(Dispute.state == f.state)
    if f.category:
        q = q.where(Dispute.category == f.category)
    if f.tier:
        q = q.where(Dispute.tier == f.tier)
    if f.agency:
        q = q.where(Dispute.id.in_(select(Handoff.dispute_id).where(Handoff.agency_code == f.agency)))
    if f.overdue is not None:
        now = ctx.now()
        # As sla_of: a handling clock stopped for an excluded interval is not late.
        clock_runs = Handoff.deadline_rules["suspended_at"].as_string().is_(None)
        late = select(Handoff.dispute_id).where(or_(
            and_(Handoff.state.in_(WAITING), Handoff.ack_due < now),
            and_(Handoff.state.in_(HANDLING), Handoff.handle_due < now, clock_runs)))
        q = q.where(Dispute.id.in_(late) if f.overdue else Dispute.id.not_in(late))
    tz = ctx.config.calendar.tz
    if f.date_from:
        q = q.where(Dispute.created_at >= datetime.combine(f.date_from, datetime.min.time(), tz))
    if f.date_to:
        q = q.where(Dispute.created_at < datetime.combine(f.date_to, datetime.max.time(), tz))
    with ctx.store.read() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.options(*_LOADED).order_by(Dispute.created_at.desc(), Dispute.id)
                         .offset((f.page - 1) * f.per_page).limit(f.per_page)).all()
        return {"items": hide_outside(ctx, dump(_DISPUTES, rows, ctx.now(), ctx.config), scope), "total": total,
                "page": f.page, "per_page": f.per_page}


# --------------------------------------------------------------------------- the intake window
def lookup(ctx: ServiceContext, text: str, limit: int = 50, scope: Scope = WHOLE) -> list[dict[str, Any]]:
    """"Where is my case?": by reference, an ID number or a phone (exact, through the keyed hashes:
    neither is stored readable), or a party's name. Newest first; the answer masks as always."""
    text = text.strip()
    if not text:
        return []
    parties = None
    with contextlib.suppress(ValidationError):
        parties = select(Party.dispute_id).where(Party.id_number_hash.in_(ctx.cipher.lookup_hashes(
            ids.validate_id_number(text), "id_number")))
    if parties is None:
        with contextlib.suppress(ValidationError):
            parties = select(Party.dispute_id).where(Party.phone_hash.in_(ctx.cipher.lookup_hashes(
                ids.validate_mobile(text), "phone")))
    reference = text
    with contextlib.suppress(ValidationError):  # as people type it: [] for 〔〕, an unpadded number
        reference = ids.format_reference(*ids.parse_reference(text))
    where = Dispute.id.in_(parties) if parties is not None else or_(
        Dispute.reference == reference, Dispute.id.in_(select(Party.dispute_id).where(Party.name == text)))
    with ctx.store.read() as s:
        rows = s.scalars(select(Dispute).where(where, scope.where(Dispute.division)).options(*_LOADED)
                         .order_by(Dispute.created_at.desc()).limit(limit)).all()
        return hide_outside(ctx, dump(_DISPUTES, rows, ctx.now(), ctx.config), scope)


def registered_by(ctx: ServiceContext, actor: Actor, on: date | None = None) -> list[dict[str, Any]]:
    tz = ctx.config.calendar.tz
    day = on or ctx.now().astimezone(tz).date()
    start = datetime.combine(day, time.min, tz)
    with ctx.store.read() as s:
        rows = s.scalars(select(Dispute).where(Dispute.created_by == actor.id, scope_of(actor).where(Dispute.division),
                                               Dispute.created_at >= start,
                                               Dispute.created_at < start + timedelta(days=1))
                         .options(*_LOADED).order_by(Dispute.created_at.desc()).limit(500)).all()
        return hide_outside(ctx, dump(_DISPUTES, rows, ctx.now(), ctx.config), scope_of(actor))


# --------------------------------------------------------------------------- reference data
def categories(ctx: ServiceContext) -> list[dict[str, Any]]:
    return dump(CategoryOut(many=True), list(ctx.config.ruleset.categories.values()), ctx.now(), ctx.config)


def divisions(ctx: ServiceContext, parent: str | None) -> list[dict[str, Any]]:
    """The centre's area as a tree: children of `parent`, or the top level without it."""
    tree = ctx.config.divisions
    level = ([d for d in tree.by_code.values() if not d.parent or d.parent not in tree.by_code] if parent is None
             else tree.children(parent))
    return dump(DivisionOut(many=True), sorted(level, key=lambda d: d.code), ctx.now(), ctx.config)


def agencies(ctx: ServiceContext, body_type: str | None, tier: str | None, division: str | None) -> list[Any]:
    with ctx.store.read() as s:
        q = select(Agency).order_by(Agency.code)
        if body_type:
            q = q.where(Agency.body_type == body_type)
        if tier:
            q = q.where(Agency.tier == tier)
        rows = list(s.scalars(q))
    if division:
        reg = ctx.registry()
        rows = [a for a in rows if (info := reg.by_code.get(a.code)) is not None and info.covers(division)]
    return dump(AgencyOut(many=True), rows, ctx.now(), ctx.config)
