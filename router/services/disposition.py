"""The window's own decisions at intake (docs/domain.md §8): 不予受理 ends the dispute with the
reason, its basis and where the party should go (printed as the 告知书); 当场化解 records the terms
as the dispute's agreement, resolved at the window's tier, then fulfilment and the follow-up visit
run as after any mediated agreement. Both in the intake's own transaction."""

from __future__ import annotations

from typing import Any

from router.domain.disposition import NOT_ACCEPTED_REASONS, Disposition, DispositionKind, NotAcceptedReason
from router.domain.model import OutcomeResult
from router.services import clock
from router.services.agreement import record_fulfilment, start_fulfilment
from router.services.operation import Operation
from router.store.uow import jsonable

ON_SPOT = "当场化解"


def dispose(op: Operation, d: Disposition) -> None:
    if d.kind == DispositionKind.NOT_ACCEPTED:
        not_accept(op, d)
    else:
        resolve_on_spot(op, d)


def not_accept(op: Operation, d: Disposition) -> None:
    code = d.reason_code or NotAcceptedReason.OTHER
    text = NOT_ACCEPTED_REASONS[code]
    reason = (d.reason or "").strip() or text.text
    record: dict[str, Any] = {"code": "not_accepted", "reason_code": str(code), "reason": reason,
                              "basis": text.basis or None, "refer_to": d.go_to(), "at": op.at, "by": op.actor.id}
    op.dispute.closure = jsonable(record)
    op.fire_dispute("not_accept", extra={"reason": reason, "reason_code": str(code), "basis": text.basis or None,
                                         "refer_to": d.go_to()})


def resolve_on_spot(op: Operation, d: Disposition) -> None:
    dispute = op.dispute
    tier = "grid" if op.actor.role == "grid" else op.config.divisions.centre.on_spot_tier  # 网格员当场化解
    agreement = {"terms": (d.terms or "").strip(), "amount": d.amount,
                 "fulfil_by": d.fulfil_by.isoformat() if d.fulfil_by else None}
    dispute.tier = tier
    dispute.outcome = jsonable({"result": OutcomeResult.AGREEMENT, "agreed_at": op.at, "agency": None,
                                "handoff_id": None, "on_spot": True, "agreement": agreement})
    op.fire_dispute("resolve_on_spot", extra={"reason": ON_SPOT, "agency": None, "tier": tier,
                                              "agreement": jsonable(agreement)},
                    inputs=clock.confirmation_window_inputs(op))
    start_fulfilment(op, note=ON_SPOT)
    if d.fulfilled:
        record_fulfilment(op, {"fulfilled_on": op.at.astimezone(op.config.calendar.tz).date(), "note": "当场履行"})
