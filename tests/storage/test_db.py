"""The store: the SQLite file appears on first start with WAL, foreign keys and the schema;
migrations are idempotent; lane exclusivity and foreign keys are database constraints (on
SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from backend.storage.db import Database


def test_migrate_creates_the_file_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "edge.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.migrate()  # idempotent
    assert path.exists()
    with db.read() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert s.execute(text("PRAGMA busy_timeout")).scalar_one() == 30000
        tables = set(s.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars())
    assert {"users", "api_tokens", "conversations", "messages", "tasks", "ledger_events"} <= tables
    db.dispose()


def _seed(db: Database) -> None:
    with db.write() as s:
        s.execute(text("INSERT INTO users VALUES ('u', 'u', 'owner', 't')"))
        s.execute(text("INSERT INTO conversations VALUES ('c', 'u', 'title', 't', 't')"))


def _task(db: Database, task_id: str, status: str, seq: int) -> None:
    with db.write() as s:
        s.execute(
            text(
                "INSERT INTO tasks (id, conversation_id, user_id, status, input_text, attempts, "
                "queue_seq, cancel_requested, created_at, updated_at) "
                "VALUES (:id, 'c', 'u', :status, 'x', 0, :seq, :cancel, 't', 't')"
            ),
            {"id": task_id, "status": status, "seq": seq, "cancel": False},
        )


def test_one_busy_task_per_lane_is_a_database_rule(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    db.migrate()  # idempotent
    _seed(db)
    _task(db, "t1", "running", 1)
    _task(db, "t2", "queued", 2)
    with pytest.raises(IntegrityError), db.write() as s:
        s.execute(text("UPDATE tasks SET status = 'running' WHERE id = 't2'"))
    with pytest.raises(IntegrityError):
        _task(db, "t3", "waiting_approval", 3)
    db.dispose()


def test_foreign_keys_are_enforced(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    with pytest.raises(IntegrityError), db.write() as s:
        s.execute(text("INSERT INTO conversations VALUES ('c', 'nobody', 't', 't', 't')"))
    db.dispose()
