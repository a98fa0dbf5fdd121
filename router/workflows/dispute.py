"""The dispute workflow (DESIGN.md section 4), declared once as a table."""

from __future__ import annotations

from router.workflows.engine import T, Workflow

OPEN_STATES = ("received", "routed", "needs_supervisor", "handed_off", "in_handling", "agreed", "confirming",
               "fulfilling", "follow_up")

STATE_NAMES_ZH = {
    "received": "已受理", "routed": "已分流", "needs_supervisor": "待督办指定", "handed_off": "已移交",
    "in_handling": "办理中", "agreed": "已达成协议", "confirming": "司法确认中", "fulfilling": "履行中",
    "follow_up": "待回访", "closed": "已办结", "archived": "已归档", "not_accepted": "不予受理",
}

DISPUTE = Workflow(
    name="dispute",
    states=("received", "routed", "needs_supervisor", "handed_off", "in_handling", "agreed", "confirming",
            "fulfilling", "follow_up", "closed", "archived", "not_accepted"),
    transitions=(
        T("route", "received", "routed"),
        T("route_to_supervisor", ["received", "routed", "handed_off", "in_handling"], "needs_supervisor"),
        T("hand_off", "routed", "handed_off"),
        # Supervisor override or automatic re-route after a return/expiry: back to routed, then hand_off.
        T("reroute", ["routed", "needs_supervisor", "handed_off", "in_handling"], "routed"),
        T("start_handling", "handed_off", "in_handling"),
        T("agree", "in_handling", "agreed"),
        # 司法确认: the parties may apply while the agreement is fresh (window checked by the service).
        T("request_confirmation", ["agreed", "fulfilling"], "confirming"),
        T("start_fulfilment", ["agreed", "confirming"], "fulfilling"),
        T("fulfil", "fulfilling", "follow_up"),
        T("close", list(OPEN_STATES), "closed"),
        T("reopen", "closed", "needs_supervisor"),
        # A follow-up visit that finds the dispute flared up again (复发) puts it back before supervisors.
        T("relapse", "follow_up", "needs_supervisor"),
        T("archive", "closed", "archived"),
        T("not_accept", "received", "not_accepted"),
    ),
    state_names_zh=STATE_NAMES_ZH,
)
