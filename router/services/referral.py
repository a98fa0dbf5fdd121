"""The adapter's input: a handoff as the receiving body needs it, built from stored rows.

Parties are unmasked here, as far as the receiving body needs them (bodies.yaml `share`, by its role,
and only for a party that agreed or on a legal basis: docs/domain.md §9); every delivery or pull
that shows them is audited (`revealed_fields`). A judicial-confirmation handoff carries the
agreement it asks the court to confirm; a lead offered after a failed mediation carries that
mediation (the arbitration adapter sends it), so arbitration does not start blind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from router.adapters.base import AgreementData, PartyData, PriorMediation, ReferralInput
from router.domain.model import BodyType, OutcomeResult
from router.domain.sharing import shared_fields
from router.services.context import ServiceContext
from router.store.models import Agency, Dispute, Event, Handoff, LinkRequest
from router.workflows.handoff import HandoffRole


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def referral_input(ctx: ServiceContext, s: Session, h: Handoff) -> ReferralInput:
    d: Dispute = h.dispute
    names = _agency_names(s, {h.agency_code, *(x.agency_code for x in d.handoffs)})
    cat = ctx.config.ruleset.categories.get(d.category)
    c = ctx.cipher
    share = ctx.config.bodies[BodyType(h.body_type)].share
    parties = []
    for p in d.parties:  # 数据最小化: only what this body, in this role, gets of a party that agreed (or a basis)
        fields = shared_fields(share, h.role, p.consent, p.sharing_basis)
        parties.append(PartyData(p.role, p.kind, p.name, p.division,
                                 c.decrypt(p.id_number_enc, "id_number") if p.id_number_enc and "id_number" in fields
                                 else None,
                                 c.decrypt(p.phone_enc, "phone") if p.phone_enc and "phone" in fields else None,
                                 p.credit_code))
    routing = d.routing or {}
    asked = s.execute(select(LinkRequest.reason, LinkRequest.asked_by).where(
        LinkRequest.result_handoff_id == h.id)).first() if h.role == HandoffRole.ASSIST else None
    return ReferralInput(
        handoff_id=h.id, role=h.role, designated=h.designated, placement=h.placement, body_type=h.body_type,
        agency_code=h.agency_code, agency_name=names.get(h.agency_code, h.agency_code), dispute_id=d.id,
        reference=d.reference, source=d.source, source_ref=d.source_ref, category=d.category,
        category_name=cat.name if cat else d.category, summary=d.summary,
        amount=None if d.amount is None else f"{d.amount:.2f}", people_involved=d.people_involved,
        division=d.division, occurred_on=d.occurred_on.isoformat() if d.occurred_on else None,
        risk_flags=tuple(d.risk_flags or ()), wish=d.wish, tier=d.tier, parties=tuple(parties),
        deadlines={"ack_due": iso(h.ack_due), "return_due": iso(h.return_due), "handle_due": iso(h.handle_due)},
        deadline_rules=dict(h.deadline_rules or {}), reasons=tuple(routing.get("reasons", ())),
        assisting=tuple({"agency": x.agency_code, "body_type": x.body_type} for x in d.handoffs
                        if x.role == HandoffRole.ASSIST and x.id != h.id),
        callback_url=f"{ctx.settings.public_url.rstrip('/')}/api/v1/agency/handoffs/{h.id}/events",
        offered_at=iso(h.created_at) or "",
        agreement=_agreement(ctx, d, names) if h.role in (HandoffRole.CONFIRM, HandoffRole.ENFORCE) else None,
        prior_mediation=_prior_mediation(s, d, h, names) if h.role == HandoffRole.LEAD else None,
        question=asked.reason if asked else None, asked_by=asked.asked_by if asked else None)


def _agency_names(s: Session, codes: set[str]) -> dict[str, str]:
    return dict(s.execute(select(Agency.code, Agency.name).where(Agency.code.in_(codes))).all())


def _agreement(ctx: ServiceContext, d: Dispute, names: dict[str, str]) -> AgreementData | None:
    outcome = d.outcome or {}
    agreement = outcome.get("agreement")
    if outcome.get("result") != "agreement" or not agreement:
        return None
    signed = datetime.fromisoformat(outcome["agreed_at"]).astimezone(ctx.config.calendar.tz).date()
    mediator = str(outcome.get("agency") or "")
    return AgreementData(terms=str(agreement.get("terms") or ""), amount=agreement.get("amount"),
                         signed_on=signed.isoformat(), fulfil_by=agreement.get("fulfil_by"),
                         mediated_by=mediator, mediated_by_name=names.get(mediator, mediator))


def _prior_mediation(s: Session, d: Dispute, h: Handoff, names: dict[str, str]) -> PriorMediation | None:
    """The latest earlier lead whose mediation was tried and failed, with the note it reported."""
    failed = [x for x in d.handoffs if x.role == HandoffRole.LEAD and x.id != h.id and x.placement < h.placement
              and (x.outcome or {}).get("result") == OutcomeResult.FAILED]
    if not failed:
        return None
    x = max(failed, key=lambda y: y.placement)
    data: dict[str, Any] = s.scalar(select(Event.data).where(Event.handoff_id == x.id,
                                                             Event.type == "handoff.complete")) or {}
    return PriorMediation(handoff_id=x.id, agency=x.agency_code, agency_name=names.get(x.agency_code, x.agency_code),
                          body_type=x.body_type, result="failed", acknowledged_at=iso(x.acknowledged_at),
                          concluded_at=iso(x.completed_at), note=data.get("note"))


def revealed_fields(payload: dict[str, Any]) -> list[str]:
    """The personal data a referral really shows unmasked, by its path in the payload (an expert panel
    gets no ID numbers or phones, legal aid only the applicants'): what the audit says was revealed."""
    out = []
    for key, value in payload.items():
        if isinstance(value, dict):  # one person, e.g. a 12345 order's caller
            out += [f"{key}.{f}" for f in ("id_number", "phone") if value.get(f)]
        elif isinstance(value, list):
            out += [f"{key}.{i}.{f}" for i, p in enumerate(value) if isinstance(p, dict)
                    for f in ("id_number", "phone") if p.get(f)]
    return out
