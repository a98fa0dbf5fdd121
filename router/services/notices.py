"""Messages the router owes the source of a dispute: a 12345 work order hears of every step and
gets its final reply (回单) through the hotline adapter; any other referring body (court, police,
petition office ...) gets `referral.status` notices and the final `referral.result`, with its own
number, via the outbox like any delivery."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from router.adapters import hotline_12345, referrals
from router.store.models import Dispute
from router.store.uow import UnitOfWork
from router.workflows.engine import Fired

# Internal steps inside one intake transaction, and archiving (after the end: the sender had its result).
QUIET_STATES = frozenset({"received", "routed", "archived"})
# The work order gets its 回单. A merged one (并单) hears of the merge, and its 回单 comes when the
# dispute it was merged into is closed (拆单 is refused after that, so there is only ever one).
FINAL_STATES = frozenset({"closed", "not_accepted"})


def hotline_agency(d: Dispute) -> str | None:
    """The hotline agency whose work order this dispute came from, if it did."""
    if d.source != "hotline" or not d.source_ref or not (d.created_by or "").startswith("agency:"):
        return None
    return (d.created_by or "").split(":", 1)[1]


def after_dispute_transition(uow: UnitOfWork, d: Dispute, fired: Fired, at: datetime) -> None:
    if fired.dest == "closed":
        for merged in uow.session.scalars(select(Dispute).where(Dispute.merged_into == d.id)):
            if merged.referral and merged.source != "hotline":
                _result_for_merged(uow, merged, d, at)
            elif merged.source == "hotline":
                _reply_for_merged(uow, merged, d, at)
    if d.referral and d.source != "hotline" and fired.dest not in QUIET_STATES:
        _tell_sender(uow, d, fired, at)
        return
    agency = hotline_agency(d)
    if agency is None or fired.dest in QUIET_STATES:
        return
    ref = d.source_ref or ""
    if fired.dest in FINAL_STATES:
        payload = hotline_12345.final_reply(ref, d.reference, at.isoformat(), dict(d.closure or {}),
                                            dict(d.outcome or {}) or None)
        kind = "hotline.reply"
    else:
        detail = {"trigger": fired.trigger, "lead_agency": d.lead_agency}
        payload = hotline_12345.status_notice(ref, d.reference, fired.dest, at.isoformat(), detail)
        kind = "hotline.status"
    uow.add_message(kind, "hotline_12345", {**payload, "agency": agency}, at=at, dispute_id=d.id)


def _reply_for_merged(uow: UnitOfWork, merged: Dispute, into: Dispute, at: datetime) -> None:
    """A work order merged into a dispute now closed gets that dispute's result as its 回单."""
    agency = hotline_agency(merged)
    if agency is None:
        return
    closure = {**(into.closure or {}), "merged_into": into.reference}
    payload = hotline_12345.final_reply(merged.source_ref or "", merged.reference, at.isoformat(), closure,
                                        dict(into.outcome or {}) or None)
    uow.add_message("hotline.reply", "hotline_12345", {**payload, "agency": agency}, at=at, dispute_id=merged.id)


def _tell_sender(uow: UnitOfWork, d: Dispute, fired: Fired, at: datetime) -> None:
    """The referring body hears of each step, and of the end with its result (委派调解结果反馈, 回告 ...)."""
    ref = d.referral or {}
    agency, family, number = ref.get("agency"), ref.get("body_type", ""), ref.get("referral_no", "")
    if not agency:
        return
    if fired.dest in FINAL_STATES:
        payload = referrals.result_notice(family, number, d.reference, at.isoformat(), dict(d.closure or {}),
                                          dict(d.outcome or {}) or None)
        kind = "referral.result"
    else:
        text = hotline_12345.STATUS_ZH.get(str(fired.dest), str(fired.dest))
        payload = referrals.status_notice(number, d.reference, str(fired.dest), text, at.isoformat(),
                                          {"trigger": fired.trigger, "lead_agency": d.lead_agency})
        kind = "referral.status"
    uow.add_message(kind, family, {**payload, "agency": agency}, at=at, dispute_id=d.id)


def _result_for_merged(uow: UnitOfWork, merged: Dispute, into: Dispute, at: datetime) -> None:
    """A referral merged into a dispute now closed (并单) gets that dispute's result, with its own number."""
    ref = merged.referral or {}
    if not ref.get("agency"):
        return
    closure = {**(into.closure or {}), "merged_into": into.reference}
    payload = referrals.result_notice(ref.get("body_type", ""), ref.get("referral_no", ""), merged.reference,
                                      at.isoformat(), closure, dict(into.outcome or {}) or None)
    uow.add_message("referral.result", ref.get("body_type", ""), {**payload, "agency": ref["agency"]}, at=at,
                    dispute_id=merged.id)
