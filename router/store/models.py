"""SQLAlchemy 2.x tables. Schema changes go through Alembic migrations (router/store/migrations)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Integer primary keys that autoincrement on SQLite too (BigInteger alone does not there).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Instants stored as UTC, read back aware. SQLite has no time zones: it would keep a deadline's
    Beijing wall-clock time and lose the offset, putting it 8 hours off every UTC comparison."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: instants must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class Dispute(Base):
    __tablename__ = "disputes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(48), index=True)
    tier: Mapped[str | None] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(24))
    source_ref: Mapped[str | None] = mapped_column(String(128))
    summary: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    people_involved: Mapped[int] = mapped_column(Integer, default=1)
    division: Mapped[str] = mapped_column(String(12), index=True)
    occurred_on: Mapped[date | None] = mapped_column(Date)
    risk_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    wish: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str | None] = mapped_column(String(16))  # life_safety | utilities: the urgent 签收 clocks
    referral: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # inbound: sender, number, family fields
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lead_agency: Mapped[str | None] = mapped_column(String(64), index=True)
    duplicate_of: Mapped[str | None] = mapped_column(ForeignKey("disputes.id"))
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("disputes.id"), index=True)  # 并单
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    # Head of this dispute's event chain: a deleted tail event no longer matches it.
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    event_head: Mapped[str | None] = mapped_column(String(64))
    # The lead's outcome ({result, agreement{terms, amount, fulfil_by}, agreed_at, ...}) and why it closed.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    closure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)

    duplicate: Mapped[Dispute | None] = relationship(remote_side=[id], foreign_keys=[duplicate_of])
    merged_target: Mapped[Dispute | None] = relationship(remote_side=[id], foreign_keys=[merged_into],
                                                         viewonly=True)
    links: Mapped[list[LinkRequest]] = relationship(order_by="LinkRequest.created_at", viewonly=True)
    parties: Mapped[list[Party]] = relationship(back_populates="dispute", order_by="Party.idx",
                                                cascade="all, delete-orphan")
    handoffs: Mapped[list[Handoff]] = relationship(
        back_populates="dispute",
        # Deterministic under equal timestamps (a fixed clock, one transaction): lead before assists.
        order_by="[Handoff.created_at, Handoff.placement, Handoff.role.desc(), Handoff.body_type, Handoff.agency_code]",
        cascade="all, delete-orphan",
    )

    __mapper_args__ = {"version_id_col": version}


class Party(Base):
    """A party. ID number and phone only as ciphertext, a keyed hash (exact lookup) and a mask."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128), index=True)  # the window's lookup by name
    division: Mapped[str | None] = mapped_column(String(12))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(24))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    # A copy appended by 并单 from the registration merged in; 拆单 removes the copies again.
    merged_from: Mapped[str | None] = mapped_column(String(36))
    mask_name: Mapped[bool | None] = mapped_column(Boolean)  # shown as 张某 whatever the dispute's category
    # 数据最小化: did the party agree to its ID number and phone going to the bodies, or what basis stands in.
    consent: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    sharing_basis: Mapped[str | None] = mapped_column(String(24))

    dispute: Mapped[Dispute] = relationship(back_populates="parties")


class Agency(Base):
    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    body_type: Mapped[str] = mapped_column(String(32), index=True)
    tier: Mapped[str] = mapped_column(String(16))
    jurisdiction: Mapped[list[str]] = mapped_column(JSON)
    endpoint: Mapped[str | None] = mapped_column(String(512))
    delivery: Mapped[str] = mapped_column(String(8), default="push", server_default="push")  # push | pull | paper
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # When a worker last found it reachable again after an outage: the other workers' open circuits close.
    recovered_at: Mapped[datetime | None]
    supervised_by: Mapped[str | None] = mapped_column(String(64))  # the 司法所 / 司法局 told of its 督办
    # How its calls are signed both ways: hmac-sha256 (Standard Webhooks "v1") or hmac-sm3 ("v1sm3", 国密).
    signing: Mapped[str] = mapped_column(String(16), default="hmac-sha256", server_default="hmac-sha256")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Handoff(Base):
    __tablename__ = "handoffs"
    # The workbench's queues: open handoffs by the deadline their state runs on.
    __table_args__ = (Index("ix_handoffs_state_ack_due", "state", "ack_due"),
                      Index("ix_handoffs_state_handle_due", "state", "handle_due"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id", ondelete="CASCADE"), index=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    body_type: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(8))  # lead | assist
    state: Mapped[str] = mapped_column(String(16), index=True)
    designated: Mapped[bool] = mapped_column(Boolean, default=False)
    placement: Mapped[int] = mapped_column(Integer, default=1)
    ack_due: Mapped[datetime | None]
    return_due: Mapped[datetime | None]
    handle_due: Mapped[datetime | None]
    deadline_rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    acknowledged_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    returned_reason: Mapped[str | None] = mapped_column(Text)
    urged: Mapped[int] = mapped_column(Integer, default=0)
    # The escalation ladder's marks: when the yellow warnings fall due, and when 督办 happened.
    ack_warn_at: Mapped[datetime | None]
    handle_warn_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    dispute: Mapped[Dispute] = relationship(back_populates="handoffs")


class LinkRequest(Base):
    """联动: an assisting body, an expert opinion or a transfer, asked for by the body holding a handoff
    (or added by a supervisor), with its decision and the handoff it became."""

    __tablename__ = "link_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id", ondelete="CASCADE"), index=True)
    # who asked (None: a supervisor); looked up whenever a handoff ends, to withdraw what it asked
    handoff_id: Mapped[str | None] = mapped_column(ForeignKey("handoffs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # assist | expert | transfer
    body_type: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | refused | withdrawn
    asked_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    result_handoff_id: Mapped[str | None] = mapped_column(String(36), index=True)


class Event(Base):
    """Append-only audit event. Each stream (a dispute, or 'system') is a hash chain."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("stream", "stream_seq", name="uq_events_stream_seq"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    stream: Mapped[str] = mapped_column(String(36))
    stream_seq: Mapped[int] = mapped_column(Integer)
    dispute_id: Mapped[str | None] = mapped_column(String(36), index=True)
    handoff_id: Mapped[str | None] = mapped_column(String(36), index=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(96))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Outbox(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "seq"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(48))
    routing_key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dispute_id: Mapped[str | None] = mapped_column(String(36))
    handoff_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Timer(Base):
    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "fired_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime]
    rule: Mapped[str] = mapped_column(Text, default="")
    dispute_id: Mapped[str | None] = mapped_column(String(36), index=True)
    handoff_id: Mapped[str | None] = mapped_column(String(36), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class User(Base):
    """A staff user: a bearer token for the API, and a password (argon2id) for the web pages."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # The division whose subtree the user covers; None: the whole centre (docs/api.md §2).
    division: Mapped[str | None] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Changing the password ends every web session signed in before it.
    password_changed_at: Mapped[datetime | None]
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser: the cookie carries only `id`; ending the row ends the session."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64), index=True)
    signed_in_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(96), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class Counter(Base):
    """Per-year sequence for reference numbers (诸暨调〔2026〕000123号): unique and gap-free per year."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)


class Delivery(Base):
    """One outbound HTTP message (an offered handoff, later urges and status updates).

    The database is the queue of record: a consumer takes a lease (owner, expiry) before it
    calls the agency; a sweeper re-enqueues a delivery whose lease ran out or whose retry is due,
    so a consumer killed mid-delivery, or a message lost by an in-memory transport, is retried.
    """

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "state", "next_attempt_at"),
                      Index("ix_deliveries_feed", "agency_code", "feed_seq", unique=True))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    outbox_id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(48))
    body_type: Mapped[str] = mapped_column(String(32))
    agency_code: Mapped[str] = mapped_column(String(64), index=True)
    dispute_id: Mapped[str | None] = mapped_column(String(36), index=True)
    handoff_id: Mapped[str | None] = mapped_column(String(36), index=True)
    state: Mapped[str] = mapped_column(String(16))  # pending | held | succeeded | failed | cancelled
    # The feed position: one sequence for all agencies, in commit order (docs/agency-guide.md §4).
    feed_seq: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    enqueued_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(96))
    lease_expires_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AgencyKey(Base):
    """An agency's Standard Webhooks secret, encrypted; two may be active during rotation."""

    __tablename__ = "agency_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class AuditCheckpoint(Base):
    """A chain's head as last verified (services/audit.py): the next check starts from it. `mac` is
    keyed by the service's secret, which is not in the database, so a rewrite of the chain before it
    cannot be covered by rewriting the checkpoint too."""

    __tablename__ = "audit_checkpoints"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime]
    mac: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))  # which ROUTER_SECRET_KEY made the MAC


class AuditAnchor(Base):
    """A day's anchor (services/anchors.py): the verified heads of the chains that moved since the
    previous anchor, chained to it by digest. Its digest, printed or sent to a witness outside,
    commits to every chain's verified history up to then."""

    __tablename__ = "audit_anchors"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    made_at: Mapped[datetime]
    prev_digest: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    heads: Mapped[Any] = mapped_column(JSON)  # [[stream, seq, hash], ...] sorted by stream
    streams: Mapped[int]  # chains anchored so far, this one included
    sent_at: Mapped[datetime | None]  # when the witness (ROUTER_ANCHOR_URL) took it
    send_error: Mapped[str | None] = mapped_column(String(500))


class SeenRequest(Base):
    """A `webhook-id` an agency already used within the timestamp window: the same call again (same
    signed payload) gets the answer it got (a sender's retry); anything else with it is refused."""

    __tablename__ = "seen_requests"
    __table_args__ = (Index("ix_seen_requests_seen_at", "seen_at"),)

    agency_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime]
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int | None]
    answer: Mapped[Any | None] = mapped_column(JSON)


class SealedText(Base):
    """What was typed into free text whose ID or mobile numbers were masked on the way in
    (router/domain/personal_text.py): encrypted, under the place its masked copy is stored
    (`events:<id>:reason`, `disputes:<id>:summary`), so a lawful request can still be answered."""

    __tablename__ = "sealed_texts"
    __table_args__ = (Index("ix_sealed_texts_dispute_id", "dispute_id"),)

    place: Mapped[str] = mapped_column(String(200), primary_key=True)
    dispute_id: Mapped[str | None] = mapped_column(String(36))
    kinds: Mapped[str] = mapped_column(String(64))  # what was found: id_number, phone
    original_enc: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_at: Mapped[datetime]


class StoreSetting(Base):
    """What a database was set up with and must keep (store/store_settings.py): today its
    cryptographic suite, whose lookup hashes and chain hashes only compare within one."""

    __tablename__ = "store_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
