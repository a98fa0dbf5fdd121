"""The handoff workflow (docs/domain.md §7), declared once as a table, with its states, their named
groups and its roles: the one home of these names for the whole code base."""

from __future__ import annotations

from enum import StrEnum

from router.workflows.engine import NewMessage, NewTimer, Subject, T, Workflow, refuses, start_clock


class HandoffState(StrEnum):
    NEW = "new"
    OFFERED = "offered"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLOSED = "closed"
    RETURNED = "returned"
    EXPIRED = "expired"
    UNDELIVERABLE = "undeliverable"
    RECALLED = "recalled"


S = HandoffState
WAITING = frozenset({S.OFFERED, S.DELIVERED})              # 待签收: the acknowledgement clock runs
HANDLING = frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS})      # 办理中: the handling clock runs
OPEN = WAITING | HANDLING                                  # the agency holds it and owes a step
NOT_TAKEN = frozenset({S.RETURNED, S.EXPIRED, S.UNDELIVERABLE})  # a failed placement
ENDED = NOT_TAKEN | {S.RECALLED}                           # no longer this agency's: its referral is withheld
DONE = frozenset({S.COMPLETED, S.CLOSED})                  # the body reported its outcome
FINAL = ENDED | {S.CLOSED}                                 # accepts nothing more


class HandoffRole(StrEnum):
    LEAD = "lead"          # 主办: its outcome is the dispute's
    ASSIST = "assist"      # 协办: runs beside the lead, records only its own outcome
    CONFIRM = "confirm"    # 司法确认: a court asked to confirm the agreement
    ENFORCE = "enforce"    # 强制执行: a court asked to enforce a confirmed agreement left unperformed


STATE_NAMES_ZH = {
    S.NEW: "新建", S.OFFERED: "已推送", S.DELIVERED: "已送达", S.ACKNOWLEDGED: "已签收", S.IN_PROGRESS: "办理中",
    S.COMPLETED: "已出结果", S.CLOSED: "已结案", S.RETURNED: "已退回", S.EXPIRED: "超时未签收",
    S.UNDELIVERABLE: "无法送达", S.RECALLED: "已撤回",
}
TRIGGER_NAMES_ZH = {
    "offer": "推送", "deliver": "送达", "acknowledge": "签收", "return_": "退回", "progress": "报告进展",
    "complete": "报告办理结果", "close": "结案", "expire": "逾期未签收", "fail_delivery": "投递失败",
    "recall": "撤回", "move_deadline": "调整办理期限",
}


@refuses("该事项为指定办理，不得退回", "a designated handoff may not be returned")
def not_designated(s: Subject) -> bool:
    """A designated (指定) handoff may not be returned."""
    return not s.inputs.get("designated", False)


@refuses("已超过退回期限（{return_due_text}），应依法办理", "the return window ended at {return_due_text}")
def within_return_window(s: Subject) -> bool:
    due, now = s.inputs.get("return_due"), s.inputs.get("now")
    return due is None or now is None or now <= due


def queue_delivery(s: Subject) -> None:
    """An offered handoff goes out through the outbox, routed by the body type."""
    s.outbox.append(NewMessage("handoff.offered", str(s.inputs["body_type"]),
                               {"handoff_id": s.id, "agency": s.inputs.get("agency")}))


def _rungs(s: Subject, key: str) -> bool:
    """The escalation ladder the service computed for this clock, as timers."""
    rungs = s.inputs.get(key)
    for r in rungs or ():
        s.timers.append(NewTimer(r.kind, r.due, r.rule, {"handoff_id": s.id}))
    return rungs is not None


def start_ack_clock(s: Subject) -> None:
    kinds = ("return_due",) if _rungs(s, "ack_rungs") else ("ack_due", "return_due")
    for kind in kinds:
        due = s.inputs.get(kind)
        if due is not None:
            s.timers.append(NewTimer(kind, due, s.inputs.get(f"{kind}_rule", ""), {"handoff_id": s.id}))


def start_handle_clock(s: Subject) -> None:
    """签收 starts the handling clock of most bodies (docs/domain.md §5); a moved deadline restarts it."""
    due = s.inputs.get("handle_due")
    if not _rungs(s, "handle_rungs") and due is not None:
        s.timers.append(NewTimer("handle_due", due, s.inputs.get("handle_due_rule", ""), {"handoff_id": s.id}))


HANDOFF = Workflow(
    name="handoff",
    states=tuple(HandoffState),
    transitions=(
        T("offer", S.NEW, S.OFFERED, effects=(queue_delivery, start_ack_clock, start_clock("tier_box"))),
        T("deliver", S.OFFERED, S.DELIVERED),
        T("acknowledge", sorted(WAITING), S.ACKNOWLEDGED, effects=(start_handle_clock,)),
        T("return_", sorted(WAITING | {S.ACKNOWLEDGED}), S.RETURNED, guards=(not_designated, within_return_window)),
        T("progress", sorted(HANDLING), S.IN_PROGRESS),
        T("complete", sorted(HANDLING), S.COMPLETED),
        # The body closes its own file (结案) after reporting its outcome.
        T("close", S.COMPLETED, S.CLOSED),
        T("expire", sorted(WAITING), S.EXPIRED),
        T("fail_delivery", sorted(WAITING), S.UNDELIVERABLE),
        T("recall", sorted(OPEN), S.RECALLED),
        # A new handling deadline (extension, end of an excluded interval): the ladder starts again.
        T("move_deadline", sorted(HANDLING), "=", effects=(start_handle_clock,), event="handoff.deadline_moved"),
    ),
    state_names_zh=STATE_NAMES_ZH,
    trigger_names_zh=TRIGGER_NAMES_ZH,
)
