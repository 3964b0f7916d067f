"""Tools, tool calls and approvals.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "tools_registry",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("schema", sa.Text, nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "tool_calls",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("tool", sa.String(80), nullable=False),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("approval_id", sa.String(40)),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("conversation_id", sa.String(80)),
        sa.Column("task_id", sa.String(40), sa.ForeignKey("tasks.id")),
        sa.Column("model_call_id", sa.String(120)),
        sa.Column("step", sa.Integer),
        sa.Column("executor", sa.String(120)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("started_at", _TS),
        sa.Column("finished_at", _TS),
        sa.Column("duration_ms", sa.Float),
    )
    op.create_index("ix_tool_calls_task", "tool_calls", ["task_id", "step"])
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "tool_call_id",
            sa.String(200),
            sa.ForeignKey("tool_calls.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("task_id", sa.String(40), sa.ForeignKey("tasks.id")),
        sa.Column("conversation_id", sa.String(80)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(40), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("decided_by", sa.String(40), sa.ForeignKey("users.id")),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("decided_at", _TS),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_approvals_status", "approvals", ["status", "created_at"])


def downgrade() -> None:
    op.drop_table("approvals")
    op.drop_table("tool_calls")
    op.drop_table("tools_registry")
