"""Which supervisor actions a dispute offers on the web (催办, 提级, 改派, 指定, 增加协办单位, 延期, 回访登记,
关闭, 重新打开, 归档), each opened in a dialog with a required 理由 (templates/partials/actions.html)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from router.workflows.dispute import DISPUTE, OPEN, DisputeState
from router.workflows.handoff import HANDLING
from router.workflows.handoff import OPEN as HANDOFF_OPEN


@dataclass(frozen=True)
class Action:
    code: str
    label: str
    fields: tuple[str, ...] = ()   # besides the reason: agency, period, satisfaction, relapse


LABELS = {"urge": "催办", "escalate": "提级", "reroute": "改派", "designate": "指定", "extend": "延期",
          "record_follow_up": "回访登记", "close": "关闭", "reopen": "重新打开", "archive": "归档",
          "add_assist": "增加协办单位", "apply_enforcement": "申请强制执行", "remediate": "再次调解",
          "guide_to_litigation": "引导诉讼", "record_fulfilment": "登记履行", "decline_arbitration": "登记不申请仲裁"}
DONE = {"urge": "已催办", "escalate": "已提级", "reroute": "已改派", "designate": "已指定承办单位", "extend": "已延期",
        "record_follow_up": "已登记回访", "close": "已关闭", "reopen": "已重新打开", "archive": "已归档，案卷已封存",
        "add_assist": "已增加协办单位", "approve_link": "已同意联动申请", "refuse_link": "已不同意联动申请",
        "apply_enforcement": "已向法院申请强制执行", "remediate": "已交原承办单位再次调解",
        "guide_to_litigation": "已引导诉讼，纠纷办结",
        "record_fulfilment": "已登记履行", "decline_arbitration": "已登记当事人不申请仲裁"}


def available_actions(d: dict[str, Any], *, in_queue: bool = False, lead_line: bool = True) -> list[Action]:
    """The actions the dispute's state allows; choosing an agency is left to the dispute page. On a
    queue line about an assisting body only that handoff's own actions (改派 and 提级 move the lead)."""
    state = d["state"]
    open_handoffs = [h for h in d["handoffs"] if h["state"] in HANDOFF_OPEN]
    out = []
    if open_handoffs:
        out.append(Action("urge", LABELS["urge"]))
    if "reroute" in DISPUTE.triggers_from(state) and lead_line:
        out += [Action("escalate", LABELS["escalate"]), Action("reroute", LABELS["reroute"],
                                                               () if in_queue else ("agency",))]
        if not in_queue:
            out += [Action("designate", LABELS["designate"], ("agency",)),
                    Action("add_assist", LABELS["add_assist"], ("agency",))]
    if any(h["state"] in HANDLING for h in open_handoffs):
        out.append(Action("extend", LABELS["extend"], ("period",)))
    if not lead_line:
        return out
    if state == DisputeState.UNFULFILLED:  # 逾期未履行: the supervisors choose what follows
        if ((d.get("outcome") or {}).get("confirmation") or {}).get("confirmed"):
            out.append(Action("apply_enforcement", LABELS["apply_enforcement"]))
        out += [Action("remediate", LABELS["remediate"], () if in_queue else ("agency",)),
                Action("guide_to_litigation", LABELS["guide_to_litigation"]),
                Action("record_fulfilment", LABELS["record_fulfilment"])]
    if any(h.get("role") == "lead" and h.get("body_type") == "labour_mediation" for h in open_handoffs):
        out.append(Action("decline_arbitration", LABELS["decline_arbitration"]))
    if state in (DisputeState.FOLLOW_UP, DisputeState.CLOSED):
        out.append(Action("record_follow_up", LABELS["record_follow_up"], ("satisfaction", "relapse")))
    if state in OPEN:
        out.append(Action("close", LABELS["close"]))
    if state == DisputeState.CLOSED:
        out.append(Action("reopen", LABELS["reopen"]))
        if not in_queue:
            out.append(Action("archive", LABELS["archive"]))
    return out
