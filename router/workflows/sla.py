"""A handoff's SLA standing (docs/domain.md §6): computed on read from its stored deadlines and
warning points, so it is right between scheduler rounds and needs no timer state."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from router.workflows.handoff import HANDLING, WAITING, HandoffState


class Clocked(Protocol):
    state: str
    ack_due: datetime | None
    handle_due: datetime | None
    acknowledged_at: datetime | None
    completed_at: datetime | None
    ack_warn_at: datetime | None
    handle_warn_at: datetime | None
    deadline_rules: dict[str, Any] | None


def clock_stopped(h: Clocked) -> bool:
    """An excluded interval (e.g. 医疗损害鉴定) has stopped the handling clock."""
    return bool((h.deadline_rules or {}).get("suspended_at"))


def sla_of(h: Clocked, now: datetime) -> str:
    """on_time | warned | overdue | breached: overdue while an open step is past its deadline;
    breached when a step was done late (or never: expired); warned inside the yellow band."""
    ack_due, handle_due = h.ack_due, h.handle_due
    waiting, handling = h.state in WAITING, h.state in HANDLING
    paused = clock_stopped(h)
    if (waiting and ack_due and now > ack_due) or (handling and not paused and handle_due and now > handle_due):
        return "overdue"
    acked, done = h.acknowledged_at, h.completed_at
    if h.state == HandoffState.EXPIRED or (acked and ack_due and acked > ack_due) or (
            done and handle_due and done > handle_due):
        return "breached"
    warn = h.ack_warn_at if waiting else h.handle_warn_at if handling and not paused else None
    return "warned" if warn and now >= warn else "on_time"
