"""Config: the seed, proposed patches and revisions.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "config_seed",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "config_patches",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("scope", sa.String(120), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("ops", sa.Text, nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("risk", sa.String(4), nullable=False),
        sa.Column("rationale", sa.Text, nullable=False),
        sa.Column("intents", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("base_revision", sa.String(40)),
        sa.Column("revision_id", sa.String(40)),
        sa.Column("proposed_by", sa.String(40), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "config_revisions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("scope", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("patch_id", sa.String(40)),
        sa.Column("rolls_back", sa.String(40)),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("committed_by", sa.String(40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_config_revisions_scope_seq", "config_revisions", ["scope", "seq"])


def downgrade() -> None:
    op.drop_table("config_revisions")
    op.drop_table("config_patches")
    op.drop_table("config_seed")
