"""The tables. The reporter's openid lives only in `reporters`, sealed; everything else refers to a reporter id.

Rows here are the source of truth: a message, a draft, a case, a pending download or a pending message to a user is
a row before any queue hears of it. State columns (`Media.status`, `Case.triage_status`, `Outbox.status`,
`Draft.status`) double as the ledger the sweeper reads to re-enqueue what Redis lost.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

# Integer on SQLite (so the primary key is the rowid and autoincrements), BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class _SQLiteDateTime(sqlite.DATETIME):
    """SQLite's DATETIME in its own text format (`2026-11-30 08:05:00.000000`, UTC, no zone), written and read by
    `datetime`'s ISO functions: %-formatting seven fields took twice as long, and parsing then setting the zone five
    times as long, and every message binds and reads several. Only `UTCDateTime` uses it: it is given UTC datetimes
    and leaves out their zone (`+00:00`) as SQLAlchemy's format does; what it reads is UTC."""

    def bind_processor(self, dialect: Dialect) -> Any:
        def process(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(" ", "microseconds")[:26]

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        def process(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value + "+00:00")

        return process


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone; PostgreSQL keeps it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return _SQLiteDateTime() if dialect.name == "sqlite" else self.impl_instance

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UTCDateTime}


class Reporter(Base):
    """A person who writes to the account. The openid is sealed; `digest` is a keyed hash used to find the row."""

    __tablename__ = "reporters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_openid: Mapped[bytes] = mapped_column(LargeBinary)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(default=None)


class IdentityAccess(Base):
    """Append-only trace of every time a reporter's openid was unsealed, and why."""

    __tablename__ = "identity_access"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundMessage(Base):
    """Every accepted message or event, once. `dedupe_key` is the platform's retry identity."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_reporter_received", "reporter_id", "received_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"))  # indexed first in reporter_received
    kind: Mapped[str] = mapped_column(String(32))
    platform_time: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reply: Mapped[str | None] = mapped_column(Text, default=None)
    # not indexed: a draft's messages are found by its reporter and time (`messages_of_draft`)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"), default=None)


OPEN_DRAFT = "status = 'open'"  # the partial unique index's condition (ON CONFLICT targets must repeat it)


class Draft(Base):
    """A report being composed: messages join it until `提交`, `取消`, or `expires_at` passes without a new one."""

    __tablename__ = "drafts"
    __table_args__ = (
        # At most one open draft per reporter, enforced by the database on both backends.
        Index(
            "uq_drafts_one_open",
            "reporter_id",
            unique=True,
            sqlite_where=text(OPEN_DRAFT),
            postgresql_where=text(OPEN_DRAFT),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    items: Mapped[int] = mapped_column(Integer, default=0)
    contents: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)


class Case(Base):
    """A submitted report. Refers to its reporter by id only."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default="submitted", index=True)
    query_code_digest: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    place: Mapped[str | None] = mapped_column(String(255), default=None)
    location_source: Mapped[str | None] = mapped_column(String(16), default=None)  # reporter | phone | photo
    observed_at: Mapped[datetime | None] = mapped_column(default=None)  # when the first photo was taken
    submitted_via: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    triage_status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    triage: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    section_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    major: Mapped[bool | None] = mapped_column(Boolean, default=None)
    enterprise: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    enterprise_hint: Mapped[str | None] = mapped_column(String(255), default=None)
    # A question the service asked the reporter about this case ("enterprise"), answered by their next plain text.
    question: Mapped[str | None] = mapped_column(String(32), default=None)
    question_asked_at: Mapped[datetime | None] = mapped_column(default=None)
    question_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, default=None)
    question_by: Mapped[int | None] = mapped_column(BigId, default=None)  # the inspector who asked (no FK: a cycle)
    # Deadlines of the closed loop (all UTC): accept, verify (once extendable), rectify (set by the inspector).
    accept_due_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    verify_due_at: Mapped[datetime | None] = mapped_column(default=None)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    rectify_deadline: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    rejected_at: Mapped[datetime | None] = mapped_column(default=None)
    major_confirmed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    reward_eligible: Mapped[bool] = mapped_column(Boolean, default=False)


class Inspector(Base):
    """An inspector of a section (or a section head, or a bureau leader). Found by digest like reporters."""

    __tablename__ = "inspectors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_openid: Mapped[bytes] = mapped_column(LargeBinary)
    section_id: Mapped[str | None] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16), default="inspector")  # inspector | head | leader
    source: Mapped[str] = mapped_column(String(16), default="config")  # config | invitation
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    # After "整改 <编号>", photos from this inspector for a while are the rectification's evidence.
    context_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)
    context_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(Base):
    """A one-time code that makes whoever sends `绑定 <code>` an inspector of a section."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    section_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="inspector")
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"), default=None)


class CaseEvent(Base):
    """Append-only lifecycle log: who, when, from, to, note."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")


class Media(Base):
    """A photo, voice note, video or file sent by a reporter; downloaded by a job before the MediaId expires."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"), index=True, default=None)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, default=None)
    kind: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16), default="report")  # report | rectification
    platform_media_id: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str | None] = mapped_column(String(512), default=None)
    thumbnail_path: Mapped[str | None] = mapped_column(String(512), default=None)
    content_type: Mapped[str | None] = mapped_column(String(128), default=None)
    size: Mapped[int | None] = mapped_column(Integer, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    phash: Mapped[str | None] = mapped_column(String(16), index=True, default=None)
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReferenceCounter(Base):
    """Per-day sequence behind case references such as AQ-20220616-0007."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class OutboxMessage(Base):
    """A message to a user, written in the same transaction as whatever caused it; the gateway delivers it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Exactly one recipient: a reporter or an inspector.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("reporters.id"), index=True, default=None)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"), index=True, default=None)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, default=None)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True, default=None)
    kind: Mapped[str] = mapped_column(String(16), default="text")  # text | image (body = stored media path)
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
