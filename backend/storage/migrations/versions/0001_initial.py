"""Initial schema: users and tokens, conversations, messages, tasks with lane exclusivity,
the append-only ledger and its head.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.String(32)
_BUSY = sa.text("status IN ('running', 'waiting_approval')")

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER ledger_events_no_update BEFORE UPDATE ON ledger_events
       BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only'); END""",
    """CREATE TRIGGER ledger_events_no_delete BEFORE DELETE ON ledger_events
       BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only'); END""",
]
_PG_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION ledger_events_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'ledger_events is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_events_no_update BEFORE UPDATE OR DELETE ON ledger_events
       FOR EACH ROW EXECUTE FUNCTION ledger_events_append_only()""",
    """CREATE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE ON ledger_events
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_events_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "conversation_id", sa.String(80), sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("input_text", sa.Text, nullable=False),
        sa.Column("reply", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("config_revision", sa.String(40)),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("request_hash", sa.String(64)),
        sa.Column("queue_seq", sa.BigInteger, nullable=False),
        sa.Column("lease_owner", sa.String(120)),
        sa.Column("lease_expires_at", _TS),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("started_at", _TS),
        sa.Column("finished_at", _TS),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_tasks_status_queue", "tasks", ["status", "queue_seq"])
    op.create_index("ix_tasks_conversation_queue", "tasks", ["conversation_id", "queue_seq"])
    op.create_index("ux_tasks_idempotency", "tasks", ["user_id", "idempotency_key"], unique=True)
    op.create_index(
        "ux_tasks_one_busy_per_lane",
        "tasks",
        ["conversation_id"],
        unique=True,
        sqlite_where=_BUSY,
        postgresql_where=_BUSY,
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "conversation_id", sa.String(80), sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("task_id", sa.String(40), sa.ForeignKey("tasks.id")),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_messages_conversation_seq", "messages", ["conversation_id", "seq"])
    op.create_table(
        "ledger_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(40), nullable=False, unique=True),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("conversation_id", sa.String(80)),
        sa.Column("task_id", sa.String(40)),
        sa.Column("actor_id", sa.String(40), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("causation_id", sa.String(40)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_ledger_conversation_seq", "ledger_events", ["conversation_id", "seq"])
    op.create_index("ix_ledger_task_seq", "ledger_events", ["task_id", "seq"])
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("ts", _TS, nullable=False),
    )
    op.execute(
        "INSERT INTO ledger_head (id, seq, hash, ts) VALUES "
        "(1, 0, '0000000000000000000000000000000000000000000000000000000000000000', '')"
    )
    triggers = _PG_TRIGGERS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    for table in ("ledger_head", "ledger_events", "messages", "tasks"):
        op.drop_table(table)
    for table in ("conversations", "api_tokens", "users"):
        op.drop_table(table)
