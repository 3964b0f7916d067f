"""Memory: items, candidates and the embeddings cache.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.String(32)


def _memory_columns() -> list[sa.Column[object]]:
    """What items and candidates both hold: the text, how sure and how sensitive, whence."""
    return [
        sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("impact", sa.Text, nullable=False),
        sa.Column("source", sa.String(200)),
        sa.Column("source_event_id", sa.String(40), nullable=False),
        sa.Column("task_id", sa.String(40)),
        sa.Column("conversation_id", sa.String(80)),
        sa.Column("actor_id", sa.String(40), nullable=False),
        sa.Column("confirmations", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "memory_items",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("key", sa.BigInteger, nullable=False, unique=True),
        *_memory_columns(),
        sa.Column("candidate_id", sa.String(40)),
        sa.Column("supersedes", sa.String(40)),
        sa.Column("superseded_by", sa.String(40)),
        sa.Column("deleted_by", sa.String(40)),
        sa.Column("deleted_at", _TS),
    )
    op.create_index("ix_memory_items_user_status", "memory_items", ["user_id", "status", "key"])
    op.create_index("ix_memory_items_sha", "memory_items", ["user_id", "text_sha256"])
    op.create_table(
        "memory_candidates",
        sa.Column("id", sa.String(40), primary_key=True),
        *_memory_columns(),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("supersedes", sa.String(40)),
        sa.Column("memory_id", sa.String(40)),
        sa.Column("decided_by", sa.String(40)),
        sa.Column("decided_at", _TS),
        sa.Column("reason", sa.Text),
    )
    op.create_index(
        "ix_memory_candidates_status", "memory_candidates", ["status", "created_at", "id"]
    )
    op.create_index("ix_memory_candidates_sha", "memory_candidates", ["user_id", "text_sha256"])
    op.create_table(
        "embedding_cache",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("content_sha256", sa.String(64), primary_key=True),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("embedding_cache")
    op.drop_table("memory_candidates")
    op.drop_table("memory_items")
