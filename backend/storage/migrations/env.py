"""Alembic environment: runs migrations on the connection `backend.storage.db.migrate` passes
in (`config.attributes["connection"]`), never on a URL of its own."""

from __future__ import annotations

from alembic import context

from backend.storage.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
