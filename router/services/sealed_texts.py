"""原文调阅: what was typed into a dispute's free text before its ID and mobile numbers were masked
(router/domain/personal_text.py), for a lawful request: a court's or the police's 调取, a party's
own access (个人信息保护法第45条). Only an operator on the server reads it, and every reading is a
`pii.revealed` event on the dispute's chain naming who received what and why (docs/domain.md §9)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from router.domain.errors import NotFound, ValidationError
from router.domain.personal_text import seal
from router.services.context import Actor, ServiceContext
from router.services.operation import Operation
from router.store.models import Dispute, SealedText

_ASKED = {"operator": "调阅人", "to": "提供对象", "basis": "调阅依据"}


def reveal(ctx: ServiceContext, dispute: str, *, operator: str, to: str, basis: str) -> list[dict[str, Any]]:
    """The originals kept for the dispute (by reference or id), oldest first; recorded as revealed
    `to` someone on a `basis`, both required so the trail says why."""
    for name, value in (("operator", operator), ("to", to), ("basis", basis)):
        if not value or not value.strip():
            raise ValidationError(f"请填写{_ASKED[name]}",
                                  f"{name} is required: the audit trail names who read what, for whom and why",
                                  field=name)
    at = ctx.now()
    with ctx.store.unit_of_work() as uow:
        s = uow.session
        d = s.scalars(select(Dispute).where(or_(Dispute.reference == dispute, Dispute.id == dispute))
                      .with_for_update()).first()
        if d is None:
            raise NotFound("纠纷不存在", "no such dispute")
        rows = s.scalars(select(SealedText).where(SealedText.dispute_id == d.id)
                         .order_by(SealedText.sealed_at, SealedText.place)).all()
        out = [{"place": r.place, "kinds": r.kinds.split(","), "sealed_at": r.sealed_at,
                "original": ctx.cipher.decrypt(r.original_enc, f"sealed:{r.place}")} for r in rows]
        if out:  # the record of the reading is masked too: a basis may quote a phone number
            Operation(ctx, uow, d, Actor("operator", operator.strip()), at).event(
                "pii.revealed", {"to": seal(to.strip()), "basis": seal(basis.strip()), "via": "operator",
                                 "fields": [r["place"] for r in out]})
        return out
