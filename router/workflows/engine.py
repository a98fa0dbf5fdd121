"""The only place state changes: fire a trigger on a workflow, get back what it produced.

One `transitions.Machine` per workflow type is built once at import; a call attaches a small
`Subject` as the model for the duration of one transition (building a Machine per dispute costs
about 0.34 ms and 57 KiB). Effects are small named functions that append events, outbox
messages and timers to the subject; the service layer writes them in the same transaction as
the new state. Still no I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from transitions import Machine, MachineError

from router.domain.errors import StateConflict


@dataclass
class NewEvent:
    type: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class NewMessage:
    """An outbox message: published after commit by the relay (DESIGN.md section 3 step 3)."""

    kind: str
    routing_key: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class NewTimer:
    kind: str
    due_at: datetime
    rule: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Subject:
    """The model a machine drives for one transition."""

    workflow: str
    id: str
    state: str
    ctx: Mapping[str, Any]
    events: list[NewEvent] = field(default_factory=list)
    outbox: list[NewMessage] = field(default_factory=list)
    timers: list[NewTimer] = field(default_factory=list)


@dataclass(frozen=True)
class Fired:
    """What one trigger produced."""

    workflow: str
    subject_id: str
    trigger: str
    source: str
    dest: str
    events: tuple[NewEvent, ...]
    outbox: tuple[NewMessage, ...]
    timers: tuple[NewTimer, ...]


Guard = Callable[[Subject], bool]
Effect = Callable[[Subject], None]


@dataclass(frozen=True)
class T:
    """One row of a transition table."""

    trigger: str
    source: str | Sequence[str]
    dest: str
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class Workflow:
    name: str
    states: tuple[str, ...]
    transitions: tuple[T, ...]
    state_names_zh: Mapping[str, str] = field(default_factory=dict)
    machine: Machine = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        machine = Machine(model=None, states=list(self.states), initial=self.states[0], auto_transitions=False,
                          send_event=True, ignore_invalid_triggers=False)
        for row in self.transitions:
            machine.add_transition(
                row.trigger, list(row.source) if not isinstance(row.source, str) else row.source, row.dest,
                conditions=[_wrap_guard(g) for g in row.guards],
                after=[_wrap_effect(e) for e in row.effects] + [_record(self.name, row.trigger)],
            )
        object.__setattr__(self, "machine", machine)

    def triggers_from(self, state: str) -> list[str]:
        """Triggers allowed in `state` (guards not evaluated)."""
        return sorted({r.trigger for r in self.transitions
                       if (r.source == state if isinstance(r.source, str) else state in r.source)
                       or r.source == "*"})


def _wrap_guard(g: Guard) -> Callable[[Any], bool]:
    def check(event: Any) -> bool:
        return g(event.model)
    check.__name__ = getattr(g, "__name__", "guard")
    return check


def _wrap_effect(e: Effect) -> Callable[[Any], None]:
    def run(event: Any) -> None:
        e(event.model)
    run.__name__ = getattr(e, "__name__", "effect")
    return run


def _record(workflow: str, trigger: str) -> Callable[[Any], None]:
    def record(event: Any) -> None:
        subject: Subject = event.model
        subject.events.insert(0, NewEvent(f"{workflow}.{trigger}", {
            "from": event.transition.source, "to": event.transition.dest,
            **{k: v for k, v in subject.ctx.items() if k in ("reason", "actor_note")},
        }))
    return record


def fire(workflow: Workflow, subject_id: str, state: str, trigger: str,
         ctx: Mapping[str, Any] | None = None) -> Fired:
    """Fire `trigger` on a subject in `state`. Illegal or guarded-out triggers raise StateConflict."""
    if state not in workflow.machine.states:
        raise StateConflict(f"未知状态：{state}", f"unknown state {state!r}", state=state)
    subject = Subject(workflow.name, subject_id, state, ctx or {})
    event = workflow.machine.events.get(trigger)
    if event is None:
        raise StateConflict(f"未知操作：{trigger}", f"unknown trigger {trigger!r} for {workflow.name}", state=state)
    try:
        ok = event.trigger(subject)
    except MachineError:
        zh = workflow.state_names_zh.get(state, state)
        raise StateConflict(f"当前状态（{zh}）不允许该操作：{trigger}",
                            f"{trigger!r} is not allowed in state {state!r}", state=state) from None
    if not ok:
        raise StateConflict(f"条件不满足，不能执行：{trigger}",
                            f"the conditions of {trigger!r} do not hold in state {state!r}", state=state)
    return Fired(workflow.name, subject_id, trigger, state, subject.state,
                 tuple(subject.events), tuple(subject.outbox), tuple(subject.timers))
