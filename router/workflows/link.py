"""The link-request workflow (联动, docs/domain.md §7): asked, then approved (an assisting handoff, an
expert's handoff or a new lead), refused, or withdrawn when the case moves on without it."""

from __future__ import annotations

from enum import StrEnum

from router.workflows.engine import T, Workflow


class LinkState(StrEnum):
    NEW = "new"
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


S = LinkState
LINK = Workflow(
    name="link",
    states=tuple(LinkState),
    transitions=(
        T("request", S.NEW, S.PENDING),
        T("approve", S.PENDING, S.APPROVED),
        T("refuse", S.PENDING, S.REFUSED),
        # The requesting handoff ended, or the dispute closed: nobody is waiting for the answer.
        T("withdraw", S.PENDING, S.WITHDRAWN),
    ),
    state_names_zh={S.NEW: "新建", S.PENDING: "待审批", S.APPROVED: "已同意", S.REFUSED: "未同意",
                    S.WITHDRAWN: "已撤销"},
    trigger_names_zh={"request": "申请联动", "approve": "同意联动", "refuse": "不同意联动", "withdraw": "撤销联动申请"},
)
