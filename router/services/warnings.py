"""Early warning (预警, docs/reports.md §5): the signals a supervisor must see without asking.

`refresh` finds every signal that holds now, raises the new ones (a `warning.raised` event on the
dispute's chain, or the system chain for a cluster, a repeat party or an agency, which also goes to
the router.events exchange) and clears the ones that no longer hold (`warning.cleared`). The
scheduler calls it every minute; one refresh at a time (a row lock), so two schedulers never raise
one signal twice. The report and the workbench's 预警 queue read the stored signals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select

from router.domain.model import RISK_ZH
from router.services.context import SYSTEM, ServiceContext
from router.services.queues import deadline_between
from router.services.scope import WHOLE, Scope
from router.store.models import Delivery, Dispute, Handoff, Party
from router.store.report_models import DisputeFigures, HandoffFigures, Signal
from router.workflows.dispute import OPEN, DisputeState

KIND_ZH = {"flagged_open": "高风险纠纷在办", "flagged_overdue": "高风险纠纷超期", "cluster": "同类纠纷聚集",
           "repeat_party": "同一当事人反复", "agency_returns": "单位退回过多", "agency_deliveries": "单位持续无法送达",
           "agency_down": "机构异常"}


@dataclass
class Found:
    key: str
    kind: str
    why: str
    dispute_ids: list[str] = field(default_factory=list)
    agency: str | None = None
    division: str | None = None
    reference: str | None = None

    @property
    def dispute_id(self) -> str | None:
        """The one dispute a signal is about (its event goes on that dispute's chain), if it is about one."""
        return self.dispute_ids[0] if self.kind.startswith("flagged") else None


def _flagged(ctx: ServiceContext, s: Any, now: datetime) -> list[Found]:
    q = (select(Dispute.id, Dispute.reference, Dispute.division, DisputeFigures.alert_flags)
         .join(DisputeFigures, DisputeFigures.dispute_id == Dispute.id)
         .where(Dispute.state.in_(OPEN), DisputeFigures.alert_flags.is_not(None)))
    rows = s.execute(q).all()
    late = set(s.scalars(select(Handoff.dispute_id).where(Handoff.dispute_id.in_([r.id for r in rows]),
                                                          deadline_between(None, now)))) if rows else set()
    out = []
    for r in rows:
        flags = "、".join(RISK_ZH.get(x, x) for x in r.alert_flags.split(","))
        out.append(Found(f"flagged_open:{r.id}", "flagged_open", f"在办纠纷{flags}", [r.id], division=r.division,
                         reference=r.reference))
        if r.id in late:
            out.append(Found(f"flagged_overdue:{r.id}", "flagged_overdue", f"{flags}的纠纷有移交已超期", [r.id],
                             division=r.division, reference=r.reference))
    return out


def _clusters(ctx: ServiceContext, s: Any, now: datetime) -> list[Found]:
    th, tree = ctx.config.thresholds, ctx.config.divisions
    since = now.astimezone(ctx.config.calendar.tz).date() - timedelta(days=th.cluster_days - 1)
    df = DisputeFigures
    # A registration merged into another (并单) is that dispute, not one more.
    recent = (df.registered_on >= since, df.village.is_not(None), or_(df.closure.is_(None), df.closure != "merged"))
    hot = (select(df.village, df.category).where(*recent).group_by(df.village, df.category)
           .having(func.count() >= th.cluster_size).subquery())
    members: dict[tuple[str, str], list[str]] = {}
    q = (select(df.village, df.category, df.dispute_id).where(*recent)
         .join(hot, (hot.c.village == df.village) & (hot.c.category == df.category))
         .order_by(df.village, df.category, df.dispute_id))
    for village, category, dispute_id in s.execute(q):  # one query for every cluster and its disputes
        members.setdefault((village, category), []).append(dispute_id)
    out = []
    for (village, category), ids in members.items():
        place = tree.get(village).name if tree.get(village) else village
        cat = ctx.config.ruleset.categories.get(category)
        out.append(Found(f"cluster:{village}:{category}", "cluster",
                         f"{place}{th.cluster_days}天内登记{len(ids)}件{cat.name if cat else category}", ids,
                         division=village))
    return out


# How a repeat-party warning names what repeats, by the lookup hash column: its key is
# `repeat_party:<what>:<hash>`, which a key rotation carries over (services/pii_keys.py).
REPEAT_WHAT = {"id_number_hash": "身份证号", "phone_hash": "手机号"}


def _repeat_parties(ctx: ServiceContext, s: Any, now: datetime) -> list[Found]:
    th = ctx.config.thresholds
    since = now - timedelta(days=th.repeat_party_days)
    out = []
    for column, masked_col in ((Party.id_number_hash, Party.id_number_masked), (Party.phone_hash, Party.phone_masked)):
        what = REPEAT_WHAT[column.key]
        # A registration merged into another (并单) is that dispute, not one more.
        recent = (column.is_not(None), Dispute.created_at >= since, Dispute.state != DisputeState.MERGED)
        repeated = (select(column.label("h")).join(Dispute, Dispute.id == Party.dispute_id).where(*recent)
                    .group_by(column).having(func.count(func.distinct(Party.dispute_id)) >= th.repeat_party_disputes)
                    .subquery())
        found: dict[str, tuple[set[str], str | None]] = {}
        q = (select(column, Party.dispute_id, masked_col).join(Dispute, Dispute.id == Party.dispute_id)
             .join(repeated, repeated.c.h == column).where(*recent))
        for h, dispute_id, masked in s.execute(q):  # one query for every repeated party and its disputes
            ids, first = found.setdefault(h, (set(), masked))
            ids.add(dispute_id)
        for h, (ids, masked) in sorted(found.items()):
            out.append(Found(f"repeat_party:{what}:{h[:24]}", "repeat_party",
                             f"同一{what}（{masked}）{th.repeat_party_days}天内涉及{len(ids)}件纠纷", sorted(ids)))
    return out


def _agencies(ctx: ServiceContext, s: Any, now: datetime) -> list[Found]:
    th, names = ctx.config.thresholds, {c: a.name for c, a in ctx.registry().by_code.items()}
    since_day = now.astimezone(ctx.config.calendar.tz).date() - timedelta(days=th.agency_window_days - 1)
    hf = HandoffFigures
    q = (select(hf.agency, func.count().label("n"), func.sum(case((hf.end_state == "returned", 1), else_=0)).label("r"))
         .where(hf.offered_on >= since_day).group_by(hf.agency).having(func.count() >= th.agency_min_n))
    out = []
    for agency, n, r in s.execute(q):
        if r / n >= th.agency_return_share:
            out.append(Found(f"agency_returns:{agency}", "agency_returns",
                             f"{names.get(agency, agency)}近{th.agency_window_days}天退回{r}件（共接收{n}件）",
                             agency=agency))
    failed = (select(Delivery.agency_code, func.count().label("n"))
              .where(Delivery.state == "failed", Delivery.updated_at >= now - timedelta(days=th.agency_window_days))
              .group_by(Delivery.agency_code).having(func.count() >= th.agency_failed_deliveries))
    for agency, n in s.execute(failed):
        out.append(Found(f"agency_deliveries:{agency}", "agency_deliveries",
                         f"{names.get(agency, agency)}近{th.agency_window_days}天有{n}次推送最终失败", agency=agency))
    return out + _agencies_down(ctx, s, now, names)


def _agencies_down(ctx: ServiceContext, s: Any, now: datetime, names: dict[str, str]) -> list[Found]:
    """机构异常: an agency whose deliveries have kept failing for `agency_down_minutes` (from the oldest
    failing one's making to its latest attempt or deferral), with nothing delivered to it meanwhile.
    Its backlog is kept (the circuit defers it) and drained when it is back."""
    span = timedelta(minutes=ctx.config.thresholds.agency_down_minutes)
    since = now - span
    failing = s.execute(select(Delivery.agency_code, func.min(Delivery.created_at), func.max(Delivery.updated_at))
                        .where(Delivery.state == "pending", Delivery.last_error.is_not(None))
                        .group_by(Delivery.agency_code)).all()
    reached = set(s.scalars(select(Delivery.agency_code).where(Delivery.delivered_at > since).distinct()))
    down = [a for a, first, last in failing if a not in reached and first <= since and last - first >= span]
    if not down:
        return []
    backlog = dict(s.execute(select(Delivery.agency_code, func.count()).where(
        Delivery.agency_code.in_(down), Delivery.state == "pending").group_by(Delivery.agency_code)).all())
    minutes = ctx.config.thresholds.agency_down_minutes
    return [Found(f"agency_down:{a}", "agency_down",
                  f"{names.get(a, a)}推送持续失败超过{minutes}分钟，积压{backlog.get(a, 0)}件待送达（恢复后按序补送）",
                  agency=a) for a in sorted(down)]


def find(ctx: ServiceContext) -> list[Found]:
    now = ctx.now()
    with ctx.store.read() as s:
        return [*_flagged(ctx, s, now), *_clusters(ctx, s, now), *_repeat_parties(ctx, s, now),
                *_agencies(ctx, s, now)]


def refresh(ctx: ServiceContext) -> dict[str, int]:
    """Raise what is new, clear what no longer holds; returns how many of each."""
    found = {f.key: f for f in find(ctx)}
    now, raised, cleared = ctx.now(), 0, 0
    with ctx.store.unit_of_work() as uow:
        uow.next_in_sequence("warnings.refresh")  # the row lock: one refresh at a time
        s = uow.session
        held = {sig.key: sig for sig in s.scalars(select(Signal).where(Signal.cleared_at.is_(None)))}
        for key, f in found.items():
            detail = {"why": f.why, "dispute_ids": f.dispute_ids, "reference": f.reference}
            if key in held:
                held[key].detail = detail
                continue
            s.add(Signal(key=key, kind=f.kind, dispute_id=f.dispute_id, agency=f.agency, division=f.division,
                         detail=detail, raised_at=now))
            _event(uow, "warning.raised", f.kind, key, detail, now, f.dispute_id)
            raised += 1
        for key, sig in held.items():
            if key not in found:
                sig.cleared_at = now
                _event(uow, "warning.cleared", sig.kind, key, dict(sig.detail), now, sig.dispute_id)
                cleared += 1
    return {"raised": raised, "cleared": cleared, "open": len(found)}


def _event(uow: Any, type_: str, kind: str, key: str, detail: dict[str, Any], now: datetime,
           dispute_id: str | None) -> None:
    dispute = uow.session.get(Dispute, dispute_id, with_for_update=True) if dispute_id else None
    uow.append_event(type=type_, actor=SYSTEM.id, at=now, dispute=dispute,
                     data={"kind": kind, "key": key, "kind_name": KIND_ZH[kind], **detail})


def open_signals(ctx: ServiceContext, kind: str | None = None, scope: Scope = WHOLE) -> dict[str, Any]:
    """The open signals; a scoped viewer's are those placed in their subtree, and those of agencies
    whose whole jurisdiction lies in it (a district court's are not a town's to see)."""
    with ctx.store.read() as s:
        q = select(Signal).where(Signal.cleared_at.is_(None))
        if kind:
            q = q.where(Signal.kind == kind)
        rows = s.scalars(q.order_by(Signal.raised_at.desc(), Signal.key)).all()
    if not scope.whole:
        reg = ctx.registry().by_code

        def seen(r: Signal) -> bool:
            if r.division:
                return scope.allows(r.division)
            a = reg.get(r.agency) if r.agency else None
            return a is not None and bool(a.jurisdiction) and all(scope.allows(j) for j in a.jurisdiction)
        rows = [r for r in rows if seen(r)]
    return {"refreshed_at": ctx.now(), "total": len(rows), "signals": [
        {"key": r.key, "kind": r.kind, "kind_name": KIND_ZH.get(r.kind, r.kind), "why": r.detail.get("why"),
         "dispute_ids": r.detail.get("dispute_ids") or [], "reference": r.detail.get("reference"),
         "agency": r.agency, "division": r.division, "raised_at": r.raised_at} for r in rows]}

