"""Likely repeats of a registration (docs/domain.md §10): the same applicant (ID number, by its keyed
hash), the same respondent and the same category within 30 days. Found for a dispute being
registered, and for a preview before it is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from router.domain.model import PartyRole
from router.store.models import Dispute, Party

WINDOW = timedelta(days=30)
_APPLICANT, _RESPONDENT = aliased(Party), aliased(Party)  # built once: an alias per call costs ~1.5 ms


@dataclass(frozen=True)
class Who:
    """What identifies a party for the check: its role, ID-number hash, credit code and name."""

    role: str
    id_number_hash: str | None
    credit_code: str | None
    name: str


def likely_repeats(s: Session, category: str, parties: Iterable[Who], at: datetime, *, not_id: str | None = None,
                   limit: int = 1) -> list[Dispute]:
    """Newest first. A respondent is the same when its ID hash or credit code matches, or, for a
    respondent given with neither, its name. One indexed query."""
    parties = list(parties)
    applicants = {p.id_number_hash for p in parties if p.role == PartyRole.APPLICANT and p.id_number_hash}
    respondents = [p for p in parties if p.role == PartyRole.RESPONDENT]
    if not applicants or not respondents:
        return []
    a, r = _APPLICANT, _RESPONDENT
    same = []
    if hashes := {p.id_number_hash for p in respondents if p.id_number_hash}:
        same.append(r.id_number_hash.in_(hashes))
    if codes := {p.credit_code for p in respondents if p.credit_code}:
        same.append(r.credit_code.in_(codes))
    if names := {p.name.strip() for p in respondents if not p.id_number_hash and not p.credit_code}:
        same.append(and_(r.id_number_hash.is_(None), r.credit_code.is_(None), r.name.in_(names)))
    q = (select(Dispute)
         .where(Dispute.category == category, Dispute.created_at >= at - WINDOW,
                exists().where(a.dispute_id == Dispute.id, a.role == PartyRole.APPLICANT,
                               a.id_number_hash.in_(applicants)),
                exists().where(r.dispute_id == Dispute.id, r.role == PartyRole.RESPONDENT, or_(*same)))
         .order_by(Dispute.created_at.desc()).limit(limit))
    if not_id is not None:
        q = q.where(Dispute.id != not_id)
    return list(s.scalars(q))
