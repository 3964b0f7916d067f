"""Live writes go through the ledger's projection: an appended event writes the rows it
explains, and nothing else may write a projected column."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from backend.ledger.events import Actor, EventType, NewEvent
from backend.ledger.projection import reduce
from backend.ledger.rebuild import read_events
from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from backend.storage.models import ConfigRevision, LedgerEvent, MemoryItem, Task, User

OWNER = Actor("usr_owner", "owner")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def _submit(db: Database, ledger: LedgerStore, task_id: str = "task_1") -> None:
    with db.write() as s:
        created = {"phase": "created", "user_id": "usr_owner", "name": "o", "role": "owner"}
        if s.get(User, "usr_owner") is None:
            ledger.append(s, NewEvent(EventType.USER, created, actor=OWNER))
        ledger.append(
            s,
            NewEvent(
                EventType.INPUT,
                {"text": "hello", "message_id": f"msg_{task_id}", "at": "2026-11-25T00:00:00Z"},
                actor=OWNER,
                conversation_id="conv_1",
                task_id=task_id,
            ),
        )


def test_an_appended_event_writes_the_rows_it_explains(db: Database) -> None:
    ledger = LedgerStore()
    _submit(db, ledger)
    with db.read() as s:
        task = s.get(Task, "task_1")
        assert task is not None
        assert (task.status, task.input_text, task.user_id) == ("queued", "hello", "usr_owner")
        assert task.created_at == "2026-11-25T00:00:00Z"
        event = s.scalar(select(LedgerEvent).where(LedgerEvent.type == "InputEvent"))
        assert event is not None
        assert task.queue_seq == event.seq


def test_live_rows_equal_the_rows_a_rebuild_makes(db: Database) -> None:
    ledger = LedgerStore()
    _submit(db, ledger, "task_1")
    _submit(db, ledger, "task_2")
    with db.write() as s:
        running = {"status": "running", "from": "queued", "attempt": 1, "at": "2026-11-25T00:01Z"}
        ledger.append(
            s, NewEvent(EventType.TASK, running, conversation_id="conv_1", task_id="task_1")
        )
    with db.read() as s:
        projection = reduce(e for batch in read_events(s) for e in batch)
        live = {t.id: (t.status, t.attempts, t.started_at) for t in s.scalars(select(Task))}
    rebuilt = {
        r["id"]: (r["status"], r["attempts"], r["started_at"]) for r in projection.rows("tasks")
    }
    assert live == rebuilt
    assert live["task_1"] == ("running", 1, "2026-11-25T00:01Z")


def test_writing_a_projected_column_directly_fails(db: Database) -> None:
    _submit(db, LedgerStore())

    def complete_by_hand() -> None:
        with db.write() as s:
            task = s.get(Task, "task_1")
            assert task is not None
            task.status = "completed"

    with pytest.raises(RuntimeError, match=r"tasks\.status was written outside"):
        complete_by_hand()
    with db.read() as s:
        task = s.get(Task, "task_1")
        assert task is not None
        assert task.status == "queued"


def test_inserting_a_projected_row_directly_fails(db: Database) -> None:

    def add_by_hand() -> None:
        with db.write() as s:
            s.add(User(id="usr_x", name="x", role="member", created_at="2026-11-25T00:00:00Z"))

    with pytest.raises(RuntimeError, match=r"users\.\w+ was written outside"):
        add_by_hand()


def test_operational_columns_stay_the_services_own(db: Database) -> None:
    _submit(db, LedgerStore())
    with db.write() as s:
        task = s.get(Task, "task_1")
        assert task is not None
        task.lease_owner, task.idempotency_key = "worker-1", "key-1"
    with db.read() as s:
        task = s.get(Task, "task_1")
        assert task is not None
        assert (task.lease_owner, task.idempotency_key) == (
            "worker-1",
            "key-1",
        )


def test_withheld_values_reach_the_row_but_never_the_ledger(db: Database) -> None:
    ledger = LedgerStore()
    _submit(db, ledger)
    secret = "my bank PIN is 4921"
    payload = {
        "phase": "stored",
        "memory_id": "mem_1",
        "text": "[REDACTED] (may hold a credential)",
        "text_sha256": "0" * 64,
        "kind": "fact",
        "confidence": 0.9,
        "origin": "user",
        "impact": ["credentials"],
        "source": None,
    }
    with db.write() as s:
        ledger.append(
            s, NewEvent(EventType.MEMORY, payload, actor=OWNER, withheld={"text": secret})
        )
    with db.read() as s:
        item = s.get(MemoryItem, "mem_1")
        assert item is not None
        assert item.text == secret
        stored = s.scalar(select(LedgerEvent).where(LedgerEvent.type == "MemoryEvent"))
        assert stored is not None
        assert secret not in stored.payload
        assert json.loads(stored.payload)["text"].startswith("[REDACTED]")


def test_revisions_are_numbered_by_the_projection(db: Database) -> None:
    ledger = LedgerStore()
    with db.write() as s:
        ledger.append(
            s, NewEvent(EventType.PATCH, {"phase": "seeded", "revision_id": "rev_1", "seed": {}})
        )
    with db.write() as s:
        rolled = {
            "phase": "rolled_back",
            "revision_id": "rev_2",
            "rolls_back": "rev_1",
            "scope": "global",
            "changes": [],
        }
        ledger.append(s, NewEvent(EventType.PATCH, rolled, actor=OWNER))
    with db.read() as s:
        seqs = {r.id: r.seq for r in s.scalars(select(ConfigRevision))}
    assert seqs == {"rev_1": 1, "rev_2": 2}
