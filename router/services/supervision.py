"""Supervisor actions on a dispute (API.md `POST /disputes/{id}/actions`): each needs a reason, is
audited, and is refused (409) when the dispute's state does not allow it."""

from __future__ import annotations

from typing import Any

from router.domain.errors import NotFound, StateConflict, ValidationError
from router.services import follow
from router.services.agency import parse_period
from router.services.context import Actor, ServiceContext
from router.services.dispatch import override
from router.store.models import Agency, Dispute
from router.workflows.dispute import DISPUTE, OPEN_STATES

ACTIONS = ("reroute", "designate", "urge", "escalate", "withdraw", "close", "reopen", "record_follow_up",
           "record_fulfilment", "request_confirmation", "extend")


def act(ctx: ServiceContext, dispute_id: str, data: dict[str, Any], actor: Actor) -> None:
    action, reason = data["action"], (data.get("reason") or "").strip()
    if not reason:
        raise ValidationError("每项督办操作都必须填写理由", "every action needs a reason", field="reason")
    if action in ("reroute", "designate"):
        override(ctx, dispute_id, action, reason, actor, data.get("agency"))
        return
    if action == "record_follow_up" and not data.get("satisfaction"):
        raise ValidationError("登记回访必须填写满意度", "a follow-up needs `satisfaction`", field="satisfaction")
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        d = uow.session.get(Dispute, dispute_id, with_for_update=True)
        if d is None:
            raise NotFound("纠纷不存在", "no such dispute")
        agency = None
        if data.get("agency"):
            agency = uow.session.get(Agency, data["agency"])
            if agency is None or not agency.active:
                raise ValidationError(f"承办单位不存在或已停用：{data['agency']}",
                                      f"unknown or inactive agency {data['agency']!r}", field="agency")
        if action == "urge":
            follow.urge(uow, d, actor, at, reason, data.get("handoff"))
        elif action == "escalate":
            follow.escalate(ctx, uow, d, actor, at, reason, agency.code if agency else None,
                            agency.body_type if agency else None, agency.tier if agency else None)
        elif action in ("withdraw", "close"):
            if d.state not in OPEN_STATES:
                zh = DISPUTE.state_names_zh.get(d.state, d.state)
                raise StateConflict(f"当前状态（{zh}）不能{'撤回' if action == 'withdraw' else '办结'}",
                                    f"cannot {action} in state {d.state!r}", state=d.state)
            code = "withdrawn" if action == "withdraw" else "closed_by_centre"
            follow.close_dispute(uow, d, actor, at, code, ("申请人撤回：" if action == "withdraw" else "") + reason)
        elif action == "reopen":
            follow.reopen(uow, d, actor, at, reason)
        elif action == "record_follow_up":
            follow.record_follow_up(ctx, uow, d, actor, at, reason, data["satisfaction"],
                                    bool(data.get("relapse")), data.get("note"))
        elif action == "record_fulfilment":
            follow.record_fulfilment(ctx, uow, d, actor, at,
                                     {"fulfilled_on": data.get("fulfilled_on"), "note": data.get("note") or reason})
        elif action == "extend":
            h = follow.target_handoff(d, data.get("handoff"))
            follow.extend(ctx, uow, d, h, actor, at, reason, parse_period(data.get("period"), "period"))
        elif action == "request_confirmation":
            follow.request_confirmation(ctx, uow, d, actor, at, reason)
        else:  # the schema allows only ACTIONS
            raise ValidationError(f"未知操作：{action}", f"unknown action {action!r}", field="action")
