"""The handoff workflow (DESIGN.md section 4, DOMAIN.md section 6), declared once as a table."""

from __future__ import annotations

from router.workflows.engine import NewMessage, NewTimer, Subject, T, Workflow

OPEN_STATES = ("offered", "delivered", "acknowledged", "in_progress")
FAILED_STATES = ("returned", "expired", "undeliverable", "recalled")
DONE_STATES = ("completed", "closed")
TERMINAL_STATES = FAILED_STATES + ("closed",)

STATE_NAMES_ZH = {
    "new": "新建", "offered": "已推送", "delivered": "已送达", "acknowledged": "已签收", "in_progress": "办理中",
    "completed": "已出结果", "closed": "已结案", "returned": "已退回", "expired": "超时未签收",
    "undeliverable": "无法送达", "recalled": "已撤回",
}


def not_designated(s: Subject) -> bool:
    """A designated (指定) handoff may not be returned."""
    return not s.ctx.get("designated", False)


def within_return_window(s: Subject) -> bool:
    due, now = s.ctx.get("return_due"), s.ctx.get("now")
    return due is None or now is None or now <= due


def queue_delivery(s: Subject) -> None:
    """An offered handoff goes out through the outbox, routed by the body type."""
    s.outbox.append(NewMessage("handoff.offered", str(s.ctx["body_type"]),
                               {"handoff_id": s.id, "agency": s.ctx.get("agency")}))


def _rungs(s: Subject, key: str) -> bool:
    """The escalation ladder the service computed for this clock, as timers."""
    rungs = s.ctx.get(key)
    for r in rungs or ():
        s.timers.append(NewTimer(r.kind, r.due, r.rule, {"handoff_id": s.id}))
    return rungs is not None


def start_ack_clock(s: Subject) -> None:
    kinds = ("return_due",) if _rungs(s, "ack_rungs") else ("ack_due", "return_due")
    for kind in kinds:
        due = s.ctx.get(kind)
        if due is not None:
            s.timers.append(NewTimer(kind, due, s.ctx.get(f"{kind}_rule", ""), {"handoff_id": s.id}))


def start_handle_clock(s: Subject) -> None:
    """签收 starts the handling clock of most bodies (DOMAIN.md section 5)."""
    due = s.ctx.get("handle_due")
    if not _rungs(s, "handle_rungs") and due is not None:
        s.timers.append(NewTimer("handle_due", due, s.ctx.get("handle_due_rule", ""), {"handoff_id": s.id}))


HANDOFF = Workflow(
    name="handoff",
    states=("new", "offered", "delivered", "acknowledged", "in_progress", "completed", "closed", "returned",
            "expired", "undeliverable", "recalled"),
    transitions=(
        T("offer", "new", "offered", effects=(queue_delivery, start_ack_clock)),
        T("deliver", "offered", "delivered"),
        T("acknowledge", ["offered", "delivered"], "acknowledged", effects=(start_handle_clock,)),
        T("return_", ["offered", "delivered", "acknowledged"], "returned",
          guards=(not_designated, within_return_window)),
        T("progress", ["acknowledged", "in_progress"], "in_progress"),
        T("complete", ["acknowledged", "in_progress"], "completed"),
        # The body closes its own file (结案) after reporting its outcome.
        T("close", "completed", "closed"),
        T("expire", ["offered", "delivered"], "expired"),
        T("fail_delivery", ["offered", "delivered"], "undeliverable"),
        T("recall", list(OPEN_STATES), "recalled"),
    ),
    state_names_zh=STATE_NAMES_ZH,
)
