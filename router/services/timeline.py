"""A dispute's timeline for supervisors (docs/api.md §6): every event in order, and one span per
handoff with its milestones, deadlines, durations and SLA standing (workflows/sla.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from router.domain.errors import NotFound
from router.schemas.common import dump
from router.schemas.disputes import TimelineOut
from router.services.context import ServiceContext
from router.services.scope import WHOLE, Scope
from router.services.views import hide_outside
from router.store.models import Dispute, Event, Handoff

MILESTONES = {"handoff.deliver": "delivered", "handoff.acknowledge": "acknowledged",
              "handoff.complete": "outcome", "handoff.return_": "returned", "handoff.expire": "expired",
              "handoff.recall": "recalled", "handoff.fail_delivery": "undeliverable", "handoff.close": "closed"}
ENDINGS = ("outcome", "returned", "expired", "recalled", "undeliverable")
_TIMELINE = TimelineOut()


@dataclass(frozen=True)
class Span:
    """One handoff's life: when each milestone happened, read from its events."""

    handoff: Handoff
    times: dict[str, datetime]
    now: datetime

    @property
    def offered(self) -> datetime:
        return self.handoff.created_at

    @property
    def delivered(self) -> datetime | None:
        return self.times.get("delivered")

    @property
    def acknowledged(self) -> datetime | None:
        return self.times.get("acknowledged")

    @property
    def outcome(self) -> datetime | None:
        return self.times.get("outcome")

    @property
    def closed(self) -> datetime | None:
        return self.times.get("closed")

    @property
    def ended(self) -> datetime | None:
        return next((self.times[k] for k in ENDINGS if k in self.times), None)

    @property
    def to_acknowledge_s(self) -> float | None:
        return _secs(self.offered, self.acknowledged)

    @property
    def to_outcome_s(self) -> float | None:
        return _secs(self.acknowledged or self.offered, self.outcome)

    @property
    def duration_s(self) -> float | None:
        return _secs(self.offered, self.ended or self.now)


@dataclass(frozen=True)
class Timeline:
    dispute: Dispute
    events: list[Event]
    spans: list[Span]


def timeline(ctx: ServiceContext, dispute_id: str, scope: Scope = WHOLE) -> dict[str, Any]:
    now = ctx.now()
    with ctx.store.read() as s:
        d = s.get(Dispute, dispute_id, options=[selectinload(Dispute.handoffs)])
        if d is None:
            raise NotFound("纠纷不存在", "no such dispute")
        scope.require(d.division)
        events = list(s.scalars(select(Event).where(Event.stream == d.id).order_by(Event.stream_seq)))
        times: dict[str, dict[str, datetime]] = {}
        for e in events:
            if e.handoff_id and e.type in MILESTONES:
                times.setdefault(e.handoff_id, {}).setdefault(MILESTONES[e.type], e.occurred_at)
        spans = [Span(h, times.get(h.id, {}), now) for h in d.handoffs]
        answer = dump(_TIMELINE, Timeline(d, events, spans), now, ctx.config)
    return hide_outside(ctx, answer, scope)


def _secs(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round((b - a).total_seconds(), 1)
