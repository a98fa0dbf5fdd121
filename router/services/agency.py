"""What a partner agency does through the API: pull its handoffs and report on them (API.md "Agencies").

An agency sees only handoffs made to it; anything else is NotFound, so it cannot even learn that
another agency's handoff exists. Reports are idempotent by the agency's `event_id`: the first
answer is stored in the same transaction as the change it made.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from router.adapters import adapter_for
from router.domain.calendar import Period
from router.domain.errors import NotFound, StateConflict, ValidationError
from router.services import follow
from router.services.context import Actor, ServiceContext
from router.services.idempotency import Idempotency
from router.services.intake import request_hash
from router.services.referral import referral_input, revealed_fields
from router.services.views import handoff_view, iso
from router.store.models import Dispute, Handoff
from router.workflows.handoff import STATE_NAMES_ZH

EVENT_TYPES = ("acknowledged", "returned", "progress", "outcome", "closed")


def agency_actor(code: str) -> Actor:
    return Actor("agency", code, "agency")


def _summary(h: Handoff, now: datetime) -> dict[str, Any]:
    d = h.dispute
    return {**handoff_view(h, now), "reference": d.reference, "category": d.category, "summary": d.summary,
            "dispute_state": d.state, "division": d.division, "urged": h.urged or 0,
            "acknowledged_at": iso(h.acknowledged_at), "outcome": h.outcome}


def list_handoffs(ctx: ServiceContext, agency_code: str, state: str | None, page: int,
                  per_page: int) -> tuple[list[dict[str, Any]], int]:
    """What is waiting for this agency; no personal data, so no reveal to record."""
    with ctx.store.read() as s:
        q = select(Handoff).where(Handoff.agency_code == agency_code)
        if state:
            q = q.where(Handoff.state == state)
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.options(selectinload(Handoff.dispute))
                         .order_by(Handoff.created_at.desc(), Handoff.id)
                         .offset((page - 1) * per_page).limit(per_page)).all()
        return [_summary(h, ctx.now()) for h in rows], int(total)


def get_handoff(ctx: ServiceContext, agency_code: str, handoff_id: str) -> dict[str, Any]:
    """The full referral with parties unmasked; the reveal is an audit event on the dispute's chain."""
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        h = uow.session.get(Handoff, handoff_id)
        if h is None or h.agency_code != agency_code:
            raise NotFound("移交事项不存在", "no such handoff")
        d = uow.session.get(Dispute, h.dispute_id, with_for_update=True)
        if h.state in ("returned", "expired", "undeliverable", "recalled"):
            # No longer this agency's to handle: it sees what happened, not the parties' personal data.
            return {**_summary(h, at), "referral": None}
        referral = adapter_for(h.body_type).build(referral_input(ctx, uow.session, h))
        revealed = revealed_fields(d)
        if revealed:
            uow.append_event(type="pii.revealed", actor=agency_actor(agency_code).id, at=at, dispute=d,
                             handoff_id=h.id, data={"to": agency_code, "fields": revealed, "via": "agency_pull"})
        return {**_summary(h, at), "referral": referral}


def record_event(ctx: ServiceContext, agency_code: str, handoff_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply one agency report; the same event_id again returns the first answer and changes nothing."""
    key = str(body["event_id"])
    # The digest covers the handoff too: the same event_id on another handoff is a conflict.
    once = Idempotency(f"agency-event:{agency_code}", key, request_hash({**body, "handoff_id": handoff_id}),
                       "event_id")
    if (stored := once.lookup(ctx)) is not None:
        return stored[1]
    actor = agency_actor(agency_code)
    at = ctx.now()
    try:
        with ctx.store.unit_of_work() as uow:
            s = uow.session
            h = s.get(Handoff, handoff_id)
            if h is None or h.agency_code != agency_code:
                raise NotFound("移交事项不存在", "no such handoff")
            d = s.get(Dispute, h.dispute_id, with_for_update=True)
            s.refresh(h)
            # A concurrent retry of this very event may have committed while we waited for the lock.
            if (stored := once.stored(s, fresh=True)) is not None:
                return stored[1]
            _apply(ctx, uow, d, h, actor, at, body)
            s.flush()
            answer = {"event_id": key, "type": body["type"], "handoff": _summary(h, at), "recorded_at": iso(at)}
            answer = once.remember(s, 200, answer, at)
        return answer
    except IntegrityError:  # the same event_id raced in and committed first
        if (stored := once.lookup(ctx)) is not None:
            return stored[1]
        raise


def _apply(ctx: ServiceContext, uow: Any, d: Dispute, h: Handoff, actor: Actor, at: datetime,
           body: dict[str, Any]) -> None:
    kind = body["type"]
    extra = {"event_id": body["event_id"], "reported_at": body.get("occurred_at"), "note": body.get("note")}
    extra = {k: v for k, v in extra.items() if v is not None}
    if h.state in ("returned", "expired", "undeliverable", "recalled", "closed"):
        zh = STATE_NAMES_ZH.get(h.state, h.state)
        raise StateConflict(f"该移交已{zh}，不能再报告", f"the handoff is {h.state}", state=h.state)
    if kind == "acknowledged":
        if h.state not in ("offered", "delivered"):
            zh = STATE_NAMES_ZH.get(h.state, h.state)
            raise StateConflict(f"当前状态（{zh}）不能签收", f"cannot acknowledge in state {h.state!r}",
                                state=h.state)
        follow.acknowledge(ctx, uow, d, h, actor, at, extra)
    elif kind == "returned":
        reason, basis = (body.get("reason") or "").strip(), (body.get("basis") or "").strip()
        missing = {f: [("退回必须写明理由和法律依据", "required for a return")]
                   for f, v in (("reason", reason), ("basis", basis)) if not v}
        if missing:
            raise ValidationError("退回必须写明理由和依据", "a return needs a reason and a basis", fields=missing)
        follow.return_handoff(ctx, uow, d, h, actor, at, reason, basis, extra)
    elif kind == "progress":
        follow.progress(ctx, uow, d, h, actor, at, extra, body.get("fulfilment"))
        ext, sus = body.get("extension"), body.get("suspension")
        if ext:
            follow.extend(ctx, uow, d, h, actor, at, ext["reason"], parse_period(ext.get("period"), "extension.period"))
        if sus:
            step = follow.suspend_clock if sus["action"] == "start" else follow.resume_clock
            step(ctx, uow, d, h, actor, at, sus["reason"])
    elif kind == "outcome":
        outcome = body.get("outcome")
        if not outcome:
            raise ValidationError("结果报告必须包含 outcome", "an outcome event needs `outcome`", field="outcome")
        if outcome["result"] == "agreement" and not outcome.get("agreement") and h.role == "lead":
            raise ValidationError("达成协议时必须报告协议内容", "an agreement needs its terms",
                                  field="outcome.agreement")
        fulfil_by = (outcome.get("agreement") or {}).get("fulfil_by")
        today = at.astimezone(ctx.config.calendar.tz).date()
        if fulfil_by and date.fromisoformat(str(fulfil_by)) < today:
            raise ValidationError(f"履行期限不能早于协议达成之日（{today.isoformat()}）",
                                  f"fulfil_by is before the agreement was reached ({today.isoformat()})",
                                  field="outcome.agreement.fulfil_by")
        follow.report_outcome(ctx, uow, d, h, actor, at, outcome, extra)
    else:  # closed
        if h.state != "completed":
            zh = STATE_NAMES_ZH.get(h.state, h.state)
            raise StateConflict(f"当前状态（{zh}）不能结案：请先报告办理结果",
                                f"report an outcome before closing (state {h.state!r})", state=h.state)
        follow.close_handoff(ctx, uow, d, h, actor, at, extra, body.get("fulfilment"))



def parse_period(text: str | None, field: str) -> Period | None:
    if not text:
        return None
    try:
        return Period.parse(text)
    except ValueError:
        raise ValidationError(f"期限格式无效：{text}（例如 15c、10w）", f"not a period: {text!r}",
                              field=field) from None
