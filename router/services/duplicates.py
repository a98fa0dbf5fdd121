"""Likely repeats of a registration (docs/domain.md §8): an open dispute of the last 30 days whose
applicant has the same ID number or phone (by their keyed hashes) and that has the same respondent
or the same category. Found for a dispute being registered (which is then held for 并单) and for a
preview before it is."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased

from router.domain.model import PartyRole
from router.store.models import Dispute, Party
from router.workflows.dispute import OPEN, DisputeState

WINDOW = timedelta(days=30)
_APPLICANT, _RESPONDENT = aliased(Party), aliased(Party)  # built once: an alias per call costs ~1.5 ms
# What a repeat may be merged into: an open dispute that is not itself waiting to be merged.
TARGETS = sorted(OPEN - {DisputeState.HELD_DUPLICATE})


@dataclass(frozen=True)
class Who:
    """What identifies a party for the check: its role, ID-number and phone hashes, credit code and name."""

    role: str
    id_number_hash: str | None
    credit_code: str | None
    name: str
    phone_hash: str | None = None
    # The same numbers hashed with the keys ROUTER_PII_KEY replaced: stored rows not yet re-keyed
    # (`keys rotate-pii`) still match.
    old_id_hashes: tuple[str, ...] = ()
    old_phone_hashes: tuple[str, ...] = ()


def likely_repeats(s: Session, category: str, parties: Iterable[Who], at: datetime, *, not_id: str | None = None,
                   limit: int = 1) -> list[Dispute]:
    """Newest first. A respondent is the same when its ID or phone hash or credit code matches, or, for
    a respondent given with none of them, its name. One indexed query."""
    parties = list(parties)
    applicants = [p for p in parties if p.role == PartyRole.APPLICANT]
    respondents = [p for p in parties if p.role == PartyRole.RESPONDENT]
    values: dict[str, Any] = {
        "ids": {h for p in applicants if p.id_number_hash for h in (p.id_number_hash, *p.old_id_hashes)},
        "phones": {h for p in applicants if p.phone_hash for h in (p.phone_hash, *p.old_phone_hashes)},
        "r_ids": {h for p in respondents if p.id_number_hash for h in (p.id_number_hash, *p.old_id_hashes)},
        "r_phones": {h for p in respondents if p.phone_hash for h in (p.phone_hash, *p.old_phone_hashes)},
        "r_codes": {p.credit_code for p in respondents if p.credit_code},
        "r_names": {p.name.strip() for p in respondents if not (p.id_number_hash or p.phone_hash or p.credit_code)}}
    if not values["ids"] and not values["phones"]:
        return []
    given = frozenset(k for k, v in values.items() if v)
    params = {k: sorted(values[k]) for k in given} | {"category": category, "since": at - WINDOW, "limit": limit,
                                                      **({"not_id": not_id} if not_id is not None else {})}
    # The ids by Core on the session's connection (an ORM select of the rows costs twice as much, and
    # most registrations have no repeat), then the few rows found.
    ids = list(s.connection().execute(_query(given, not_id is not None), params).scalars())
    if not ids:
        return []
    found = {d.id: d for d in s.scalars(select(Dispute).where(Dispute.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


@functools.cache
def _query(given: frozenset[str], excluding: bool) -> Select[tuple[str]]:
    """The statement for one shape of input (which of the values are given), built once: building it
    costs more than running it."""
    a, r = _APPLICANT, _RESPONDENT
    same_applicant = or_(*([a.id_number_hash.in_(bindparam("ids", expanding=True))] if "ids" in given else []),
                         *([a.phone_hash.in_(bindparam("phones", expanding=True))] if "phones" in given else []))
    alike = [Dispute.category == bindparam("category")]
    same_respondent = _same_respondent(r, given)
    if same_respondent is not None:
        alike.append(exists().where(r.dispute_id == Dispute.id, r.role == PartyRole.RESPONDENT, same_respondent))
    # From the applicant's hashes first (two indexed lookups, a handful of rows), then the few
    # disputes they name: never a scan of the month's disputes.
    theirs = select(a.dispute_id).where(a.role == PartyRole.APPLICANT, same_applicant)
    q = (select(Dispute.id)
         .where(Dispute.id.in_(theirs), Dispute.created_at >= bindparam("since"), Dispute.state.in_(TARGETS),
                or_(*alike))
         .order_by(Dispute.created_at.desc(), Dispute.id).limit(bindparam("limit")))
    return q.where(Dispute.id != bindparam("not_id")) if excluding else q


def _same_respondent(r: type[Party], given: frozenset[str]) -> ColumnElement[bool] | None:
    same: list[ColumnElement[bool]] = []
    if "r_ids" in given:
        same.append(r.id_number_hash.in_(bindparam("r_ids", expanding=True)))
    if "r_phones" in given:
        same.append(r.phone_hash.in_(bindparam("r_phones", expanding=True)))
    if "r_codes" in given:
        same.append(r.credit_code.in_(bindparam("r_codes", expanding=True)))
    if "r_names" in given:
        same.append(and_(r.id_number_hash.is_(None), r.phone_hash.is_(None), r.credit_code.is_(None),
                         r.name.in_(bindparam("r_names", expanding=True))))
    return or_(*same) if same else None
