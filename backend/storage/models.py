"""Tables. State tables (conversations, messages, tasks, users) are projections the ledger
explains; `ledger_events` is append-only (database triggers refuse UPDATE and DELETE) and
`ledger_head` holds the chain's tip, locked by every append so `seq` is gapless and ordered.

Timestamps are RFC 3339 UTC text (sortable, identical on SQLite and PostgreSQL, and hashed
as written). The migrations in `migrations/versions` are the source of truth for the schema;
these classes mirror them for queries.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

LANE_BUSY = ("running", "waiting_approval")


class Base(DeclarativeBase):
    """Declarative base of Edge's tables."""


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[str] = mapped_column(String(32))


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32))


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[str] = mapped_column(String(32))
    __table_args__ = (Index("ix_messages_conversation_seq", "conversation_id", "seq"),)


class Task(Base):
    __tablename__ = "tasks"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(24))
    input_text: Mapped[str] = mapped_column(Text)
    reply: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    config_revision: Mapped[str | None] = mapped_column(String(40))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    queue_seq: Mapped[int] = mapped_column(BigInteger)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[str | None] = mapped_column(String(32))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[str | None] = mapped_column(String(32))
    finished_at: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))
    __table_args__ = (
        Index("ix_tasks_status_queue", "status", "queue_seq"),
        Index("ix_tasks_conversation_queue", "conversation_id", "queue_seq"),
        Index("ux_tasks_idempotency", "user_id", "idempotency_key", unique=True),
        Index(
            "ux_tasks_one_busy_per_lane",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('running', 'waiting_approval')"),
            postgresql_where=text("status IN ('running', 'waiting_approval')"),
        ),
    )


class LedgerEvent(Base):
    __tablename__ = "ledger_events"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    ts: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(40))
    conversation_id: Mapped[str | None] = mapped_column(String(80))
    task_id: Mapped[str | None] = mapped_column(String(40))
    actor_id: Mapped[str] = mapped_column(String(40))
    actor_role: Mapped[str] = mapped_column(String(16))
    causation_id: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        Index("ix_ledger_conversation_seq", "conversation_id", "seq"),
        Index("ix_ledger_task_seq", "task_id", "seq"),
    )


class LedgerHead(Base):
    __tablename__ = "ledger_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))


class ToolRecord(Base):
    __tablename__ = "tools_registry"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    risk: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    schema: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[str] = mapped_column(String(32))


class ToolCall(Base):
    __tablename__ = "tool_calls"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    tool: Mapped[str] = mapped_column(String(80))
    args: Mapped[str] = mapped_column(Text)
    risk: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    result: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    approval_id: Mapped[str | None] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    conversation_id: Mapped[str | None] = mapped_column(String(80))
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"))
    model_call_id: Mapped[str | None] = mapped_column(String(120))
    step: Mapped[int | None] = mapped_column(Integer)
    executor: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[str | None] = mapped_column(String(32))
    finished_at: Mapped[str | None] = mapped_column(String(32))
    duration_ms: Mapped[float | None] = mapped_column()


class Approval(Base):
    __tablename__ = "approvals"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tool_call_id: Mapped[str] = mapped_column(ForeignKey("tool_calls.id"), unique=True)
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"))
    conversation_id: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[str] = mapped_column(String(32))


class ConfigSeed(Base):
    __tablename__ = "config_seed"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))


class ConfigPatch(Base):
    __tablename__ = "config_patches"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    ops: Mapped[str] = mapped_column(Text)
    changes: Mapped[str] = mapped_column(Text)
    risk: Mapped[str] = mapped_column(String(4))
    rationale: Mapped[str] = mapped_column(Text)
    intents: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    base_revision: Mapped[str | None] = mapped_column(String(40))
    revision_id: Mapped[str | None] = mapped_column(String(40))
    proposed_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[str] = mapped_column(String(32))


class ConfigRevision(Base):
    __tablename__ = "config_revisions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    scope: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    patch_id: Mapped[str | None] = mapped_column(String(40))
    rolls_back: Mapped[str | None] = mapped_column(String(40))
    changes: Mapped[str] = mapped_column(Text)
    committed_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[str] = mapped_column(String(32))


class _MemoryFields:
    """Columns memory items and candidates share (see migration 0004)."""

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    confidence: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(String(16))
    impact: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    source_event_id: Mapped[str] = mapped_column(String(40))
    task_id: Mapped[str | None] = mapped_column(String(40))
    conversation_id: Mapped[str | None] = mapped_column(String(80))
    actor_id: Mapped[str] = mapped_column(String(40))
    confirmations: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))


class MemoryItem(_MemoryFields, Base):
    __tablename__ = "memory_items"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger, unique=True)
    candidate_id: Mapped[str | None] = mapped_column(String(40))
    supersedes: Mapped[str | None] = mapped_column(String(40))
    superseded_by: Mapped[str | None] = mapped_column(String(40))
    deleted_by: Mapped[str | None] = mapped_column(String(40))
    deleted_at: Mapped[str | None] = mapped_column(String(32))
    __table_args__ = (
        Index("ix_memory_items_user_status", "user_id", "status", "key"),
        Index("ix_memory_items_sha", "user_id", "text_sha256"),
    )


class MemoryCandidate(_MemoryFields, Base):
    __tablename__ = "memory_candidates"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    reasons: Mapped[str] = mapped_column(Text)
    supersedes: Mapped[str | None] = mapped_column(String(40))
    memory_id: Mapped[str | None] = mapped_column(String(40))
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        Index("ix_memory_candidates_status", "status", "created_at", "id"),
        Index("ix_memory_candidates_sha", "user_id", "text_sha256"),
    )


class EmbeddingCacheEntry(Base):
    __tablename__ = "embedding_cache"
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[str] = mapped_column(String(32))
