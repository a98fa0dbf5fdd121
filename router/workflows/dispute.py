"""The dispute workflow (docs/domain.md §8, docs/architecture.md §4), declared once as a table, with
its states and their named groups."""

from __future__ import annotations

from enum import StrEnum

from router.workflows.engine import T, Workflow, start_clock


class DisputeState(StrEnum):
    RECEIVED = "received"
    ROUTED = "routed"
    NEEDS_SUPERVISOR = "needs_supervisor"
    HANDED_OFF = "handed_off"
    IN_HANDLING = "in_handling"
    AGREED = "agreed"
    CONFIRMING = "confirming"
    FULFILLING = "fulfilling"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"
    ARCHIVED = "archived"
    NOT_ACCEPTED = "not_accepted"
    HELD_DUPLICATE = "held_duplicate"
    MERGED = "merged"
    AWAITING_COMPLETION = "awaiting_completion"
    UNFULFILLED = "unfulfilled"
    ENFORCING = "enforcing"


S = DisputeState
OPEN = frozenset({S.RECEIVED, S.ROUTED, S.NEEDS_SUPERVISOR, S.HANDED_OFF, S.IN_HANDLING, S.AGREED, S.CONFIRMING,
                  S.FULFILLING, S.FOLLOW_UP, S.HELD_DUPLICATE, S.AWAITING_COMPLETION, S.UNFULFILLED, S.ENFORCING})
WITH_A_LEAD = frozenset({S.ROUTED, S.HANDED_OFF, S.IN_HANDLING})  # a lead that fails is replaced
AFTER_AGREEMENT = frozenset({S.AGREED, S.FULFILLING})             # judicial confirmation may be asked

STATE_NAMES_ZH = {
    S.RECEIVED: "已受理", S.ROUTED: "已分流", S.NEEDS_SUPERVISOR: "待督办指定", S.HANDED_OFF: "已移交",
    S.IN_HANDLING: "办理中", S.AGREED: "已达成协议", S.CONFIRMING: "司法确认中", S.FULFILLING: "履行中",
    S.FOLLOW_UP: "待回访", S.CLOSED: "已办结", S.ARCHIVED: "已归档", S.NOT_ACCEPTED: "不予受理",
    S.HELD_DUPLICATE: "疑似重复待核", S.MERGED: "已并单", S.AWAITING_COMPLETION: "待补正",
    S.UNFULFILLED: "逾期未履行", S.ENFORCING: "申请强制执行中",
}
TRIGGER_NAMES_ZH = {
    "route": "分流", "route_to_supervisor": "转督办人员", "hand_off": "移交", "reroute": "改派或提级",
    "start_handling": "开始办理", "agree": "登记调解协议", "request_confirmation": "申请司法确认",
    "start_fulfilment": "开始履行", "fulfil": "登记履行情况", "close": "办结", "reopen": "重新办理",
    "relapse": "登记复发", "archive": "归档", "not_accept": "不予受理",
    "resolve_on_spot": "当场化解", "hold_duplicate": "疑似重复暂缓分流", "confirm_distinct": "确认非重复",
    "merge": "并单", "split": "拆单", "request_completion": "退回窗口补正", "complete_intake": "补正完毕",
    "fulfilment_overdue": "逾期未履行", "apply_enforcement": "申请强制执行", "enforcement_not_taken": "强制执行未受理",
    "remediate": "再次调解", "redo": "重办",
}

DISPUTE = Workflow(
    name="dispute",
    states=tuple(DisputeState),
    transitions=(
        T("route", S.RECEIVED, S.ROUTED),
        T("route_to_supervisor", sorted({S.RECEIVED} | WITH_A_LEAD), S.NEEDS_SUPERVISOR),
        T("hand_off", S.ROUTED, S.HANDED_OFF),
        # Supervisor override or automatic re-route after a return/expiry: back to routed, then hand_off.
        T("reroute", sorted({S.NEEDS_SUPERVISOR, S.AWAITING_COMPLETION} | WITH_A_LEAD), S.ROUTED),
        # 材料不全: the lead returned it for what the window must complete (补正); the clerk's completion
        # offers it to the same body again.
        T("request_completion", sorted(WITH_A_LEAD), S.AWAITING_COMPLETION),
        T("complete_intake", S.AWAITING_COMPLETION, S.ROUTED),
        T("start_handling", S.HANDED_OFF, S.IN_HANDLING),
        T("agree", S.IN_HANDLING, S.AGREED, effects=(start_clock("confirmation_window"),)),
        # 司法确认: the parties may apply while the agreement is fresh (window checked by the service).
        T("request_confirmation", sorted(AFTER_AGREEMENT), S.CONFIRMING),
        T("start_fulfilment", [S.AGREED, S.CONFIRMING], S.FULFILLING, effects=(start_clock("fulfil_due"),)),
        T("fulfil", [S.FULFILLING, S.UNFULFILLED, S.ENFORCING], S.FOLLOW_UP, effects=(start_clock("follow_up_due"),)),
        # The agreement's date passed unperformed: it never sits in fulfilment (docs/domain.md §8). A
        # confirmed one may go to the court for enforcement (强制执行); any may be mediated again.
        T("fulfilment_overdue", S.FULFILLING, S.UNFULFILLED),
        T("apply_enforcement", S.UNFULFILLED, S.ENFORCING),
        T("enforcement_not_taken", S.ENFORCING, S.UNFULFILLED),
        T("remediate", S.UNFULFILLED, S.ROUTED),
        # 重办: a follow-up visit answered dissatisfied starts a new handling round, with a new clock.
        T("redo", S.FOLLOW_UP, S.ROUTED),
        T("close", sorted(OPEN), S.CLOSED),
        T("reopen", S.CLOSED, S.NEEDS_SUPERVISOR),
        # A follow-up visit that finds the dispute flared up again (复发) puts it back before supervisors.
        T("relapse", S.FOLLOW_UP, S.NEEDS_SUPERVISOR),
        T("archive", S.CLOSED, S.ARCHIVED),
        T("not_accept", [S.RECEIVED, S.HELD_DUPLICATE], S.NOT_ACCEPTED),
        # 当场化解: settled at the window; the agreement is then followed like any other.
        T("resolve_on_spot", S.RECEIVED, S.AGREED, effects=(start_clock("confirmation_window"),)),
        # 并单: a likely repeat waits for a person; merged into the open dispute, or confirmed another
        # matter and routed; 拆单 undoes a merge and routes it after all.
        T("hold_duplicate", S.RECEIVED, S.HELD_DUPLICATE),
        T("confirm_distinct", S.HELD_DUPLICATE, S.RECEIVED),
        T("merge", S.HELD_DUPLICATE, S.MERGED),
        T("split", S.MERGED, S.RECEIVED),
    ),
    state_names_zh=STATE_NAMES_ZH,
    trigger_names_zh=TRIGGER_NAMES_ZH,
)
