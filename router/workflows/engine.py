"""The only place state changes: fire a trigger on a workflow, get back what it produced.

One `transitions.Machine` per workflow type is built once at import; a call attaches a small
`Subject` as the model for the duration of one transition (building a Machine per dispute costs
about 0.34 ms and 57 KiB). Effects are small named functions that append events, outbox
messages and timers to the subject; the service layer writes them in the same transaction as
the new state. Timers are made here and nowhere else: the workflow tables say which transition
starts which clock, the service computes the deadlines (docs/architecture.md §4). No I/O here.
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
    """An outbox message: published after commit by the relay (docs/architecture.md §3)."""

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
    inputs: Mapping[str, Any]
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


def refuses(zh: str, en: str) -> Callable[[Guard], Guard]:
    """Name what a guard refuses, in both languages; `{key}` takes the transition's inputs. The engine
    raises this message when the guard fails, so no service repeats the check to get a good message."""

    def mark(g: Guard) -> Guard:
        g.refusal = (zh, en)  # type: ignore[attr-defined]
        return g

    return mark


def start_clock(kind: str) -> Effect:
    """An effect that sets timer `kind` at inputs[kind] (with inputs[kind_rule]) when the service gave one."""

    def effect(s: Subject) -> None:
        due = s.inputs.get(kind)
        if due is not None:
            s.timers.append(NewTimer(kind, due, s.inputs.get(f"{kind}_rule", ""), dict(s.inputs.get("timer_data", {}))))

    effect.__name__ = f"start_{kind}"
    return effect


@dataclass(frozen=True)
class T:
    """One row of a transition table. `dest` "=" stays in the state (a reflexive step, e.g. a moved
    deadline); `event` names the audit event when it is not `<workflow>.<trigger>`."""

    trigger: str
    source: str | Sequence[str]
    dest: str
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()
    event: str | None = None


@dataclass(frozen=True)
class Workflow:
    name: str
    states: tuple[str, ...]
    transitions: tuple[T, ...]
    state_names_zh: Mapping[str, str] = field(default_factory=dict)
    trigger_names_zh: Mapping[str, str] = field(default_factory=dict)
    machine: Machine = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Plain strings, not enum members: transitions would name an Enum state by its member name.
        states = [str(x) for x in self.states]
        machine = Machine(model=None, states=states, initial=states[0], auto_transitions=False,
                          send_event=True, ignore_invalid_triggers=False)
        for row in self.transitions:
            machine.add_transition(
                row.trigger, str(row.source) if isinstance(row.source, str) else [str(x) for x in row.source],
                str(row.dest),
                conditions=[_wrap_guard(g) for g in row.guards],
                after=[_wrap_effect(e) for e in row.effects]
                + [_record(row.event or f"{self.name}.{row.trigger}", reflexive=row.dest == "=")],
            )
        object.__setattr__(self, "machine", machine)

    def row(self, trigger: str, state: str) -> T | None:
        return next((r for r in self.transitions if r.trigger == trigger
                     and (r.source == state if isinstance(r.source, str) else state in r.source)), None)

    def refuse(self, state: str, action_zh: str, action_en: str, **kw: Any) -> StateConflict:
        """The one message for "not in this state": 当前状态（已退回）不允许签收."""
        zh = self.state_names_zh.get(state, state)
        return StateConflict(f"当前状态（{zh}）不允许{action_zh}", f"cannot {action_en} in state {state!r}",
                             state=state, **kw)

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


def _record(event_type: str, *, reflexive: bool = False) -> Callable[[Any], None]:
    """The transition's event first: from and to (a reflexive row, which stays by design, has none)."""

    def record(event: Any) -> None:
        subject: Subject = event.model
        moved = {} if reflexive else {"from": event.transition.source, "to": event.transition.dest}
        subject.events.insert(0, NewEvent(event_type, {
            **moved, **{k: v for k, v in subject.inputs.items() if k in ("reason", "actor_note")},
        }))
    return record


def fire(workflow: Workflow, subject_id: str, state: str, trigger: str,
         inputs: Mapping[str, Any] | None = None) -> Fired:
    """Fire `trigger` on a subject in `state`. Illegal or guarded-out triggers raise StateConflict,
    a guarded-out one with the message its guard declares (`refuses`)."""
    state = str(state)  # an enum member would be read by its name
    if state not in workflow.machine.states:
        raise StateConflict(f"未知状态：{state}", f"unknown state {state!r}", state=state)
    subject = Subject(workflow.name, subject_id, state, inputs or {})
    event = workflow.machine.events.get(trigger)
    if event is None:
        raise StateConflict(f"未知操作：{trigger}", f"unknown trigger {trigger!r} for {workflow.name}", state=state)
    try:
        ok = event.trigger(subject)
    except MachineError:
        raise workflow.refuse(state, workflow.trigger_names_zh.get(trigger, trigger), trigger) from None
    if not ok:
        row = workflow.row(trigger, state)
        failed = next((g for g in (row.guards if row else ()) if not g(subject)), None)
        zh, en = getattr(failed, "refusal", (f"条件不满足，不能执行：{trigger}",
                                             f"the conditions of {trigger!r} do not hold in state {state!r}"))
        raise StateConflict(zh.format_map(_Known(subject.inputs)), en.format_map(_Known(subject.inputs)), state=state)

    return Fired(workflow.name, subject_id, trigger, state, subject.state,
                 tuple(subject.events), tuple(subject.outbox), tuple(subject.timers))


class _Known(dict[str, Any]):
    """A guard's message takes the inputs it names; one the caller did not give reads as '?'."""

    def __missing__(self, key: str) -> str:
        return "?"
