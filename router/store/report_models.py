"""The read models the reports count (docs/reports.md §2), the early-warning signals and the kept
case files. The figures rows are folded from the audit events in the transaction that appends them
(router/domain/figures.py); `dispute-router reports rebuild` replays the log into them again."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, LargeBinary, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from router.store.models import Base


class Dims:
    """Where and what a dispute is: every figures row carries them, so a report filters without a join."""

    district: Mapped[str | None] = mapped_column(String(12), index=True)
    town: Mapped[str | None] = mapped_column(String(12), index=True)
    village: Mapped[str | None] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(48))
    source: Mapped[str] = mapped_column(String(24))
    agency: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(16))


class DisputeFigures(Dims, Base):
    """One row per dispute. `agency` and `tier` are the lead's: the one that decided it, once it is decided."""

    __tablename__ = "dispute_figures"

    dispute_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    division: Mapped[str] = mapped_column(String(12))
    registered_on: Mapped[date] = mapped_column(Date, index=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_flags: Mapped[str | None] = mapped_column(String(128), index=True)  # e.g. "domestic_violence,group"
    claimed: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    resolved_on: Mapped[date | None] = mapped_column(Date)
    failed_on: Mapped[date | None] = mapped_column(Date)
    concluded_on: Mapped[date | None] = mapped_column(Date, index=True)
    agreed_amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    fulfilled_on: Mapped[date | None] = mapped_column(Date)
    confirmed_on: Mapped[date | None] = mapped_column(Date, index=True)
    closure: Mapped[str | None] = mapped_column(String(32))
    closed_on: Mapped[date | None] = mapped_column(Date)


class HandoffFigures(Dims, Base):
    """One row per handoff (lead, assist or confirm), with the dispute's dims copied at the offer."""

    __tablename__ = "handoff_figures"
    __table_args__ = (Index("ix_handoff_figures_agency_offered_on", "agency", "offered_on"),)

    handoff_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dispute_id: Mapped[str] = mapped_column(String(36), index=True)
    role: Mapped[str] = mapped_column(String(8))
    offered_at: Mapped[datetime]
    offered_on: Mapped[date] = mapped_column(Date, index=True)
    ack_due: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acked_on: Mapped[date | None] = mapped_column(Date, index=True)
    handle_due: Mapped[datetime | None]
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome_at: Mapped[datetime | None]
    outcome_on: Mapped[date | None] = mapped_column(Date, index=True)
    outcome_result: Mapped[str | None] = mapped_column(String(16))
    ended_at: Mapped[datetime | None]
    ended_on: Mapped[date | None] = mapped_column(Date, index=True)
    end_state: Mapped[str | None] = mapped_column(String(16))


class FollowUp(Dims, Base):
    """One 回访, with the dims of its dispute (the agency that resolved it) when it was recorded."""

    __tablename__ = "follow_ups"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dispute_id: Mapped[str] = mapped_column(String(36), index=True)
    recorded_on: Mapped[date] = mapped_column(Date, index=True)
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    satisfied: Mapped[bool] = mapped_column(Boolean, default=False)


class Signal(Base):
    """An early-warning signal (docs/reports.md §5) while it holds; `cleared_at` once it no longer does."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_open", "cleared_at", "raised_at"),)

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dispute_id: Mapped[str | None] = mapped_column(String(36), index=True)
    agency: Mapped[str | None] = mapped_column(String(64))
    division: Mapped[str | None] = mapped_column(String(12))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raised_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]


class CaseFile(Base):
    """The 一案一卷 bundle kept when a dispute is archived: exactly the bytes handed out since."""

    __tablename__ = "case_files"

    dispute_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime]
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    bundle: Mapped[bytes] = mapped_column(LargeBinary)
