"""The ledger: hash chain, gapless order, append-only in the database, tamper detection,
no secrets."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from backend.ledger.events import Actor, EventType, NewEvent
from backend.ledger.hashing import GENESIS
from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from tests.databases import drop_ledger_guard


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def _append(db: Database, n: int, **payload: object) -> None:
    ledger = LedgerStore()
    with db.write() as s:
        for i in range(n):
            ledger.append(
                s, NewEvent(EventType.INPUT, {"i": i, **payload}, conversation_id="conv_a")
            )


def test_chain_links_and_seq_is_gapless(db: Database) -> None:
    _append(db, 5)
    _append(db, 3)
    with db.read() as s:
        events = LedgerStore().for_conversation(s, "conv_a")
        result = LedgerStore().verify(s)
    assert [e.seq for e in events] == list(range(1, 9))
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert [e.ts for e in events] == sorted(e.ts for e in events)
    assert result.ok
    assert result.events == 8
    assert result.head_seq == 8


def test_rolled_back_append_leaves_no_trace(db: Database) -> None:
    _append(db, 2)

    def failing_change() -> None:
        with db.write() as s:
            LedgerStore().append(s, NewEvent(EventType.INPUT, {"i": 99}, conversation_id="conv_a"))
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    _append(db, 1)
    with db.read() as s:
        assert [e.payload["i"] for e in LedgerStore().for_conversation(s, "conv_a")] == [0, 1, 0]
        assert LedgerStore().verify(s).ok


@pytest.mark.parametrize(
    "statement", ["UPDATE ledger_events SET type = 'X'", "DELETE FROM ledger_events"]
)
def test_database_refuses_update_and_delete(db: Database, statement: str) -> None:
    _append(db, 2)
    with pytest.raises(DatabaseError, match="append-only"), db.write() as s:
        s.execute(text(statement))


def _tamper(db: Database, sql: str, **params: object) -> None:
    """What an attacker with the file could do: drop the guard, then edit."""
    with db.write() as s:
        drop_ledger_guard(s)
        s.execute(text(sql), params)


def test_verify_names_the_first_edited_event(db: Database) -> None:
    _append(db, 5)
    _tamper(db, "UPDATE ledger_events SET payload = :p WHERE seq = 3", p='{"i":42}')
    with db.read() as s:
        result = LedgerStore().verify(s)
    assert not result.ok
    assert result.first_broken is not None
    assert result.first_broken["seq"] == 3
    assert "hash" in result.first_broken["reason"]


def test_verify_detects_a_removed_event(db: Database) -> None:
    _append(db, 5)
    _tamper(db, "DELETE FROM ledger_events WHERE seq = 2")
    with db.read() as s:
        result = LedgerStore().verify(s)
    assert not result.ok
    assert result.first_broken is not None
    assert "missing" in result.first_broken["reason"]


def test_verify_detects_a_truncated_tail(db: Database) -> None:
    _append(db, 5)
    _tamper(db, "DELETE FROM ledger_events WHERE seq = 5")
    with db.read() as s:
        result = LedgerStore().verify(s)
    assert not result.ok
    assert "head" in (result.first_broken or {}).get("reason", "")


def test_verify_detects_a_rehashed_edit(db: Database) -> None:
    """Recomputing an edited event's own hash still breaks the next link."""
    _append(db, 4)
    with db.read() as s:
        third = LedgerStore().for_conversation(s, "conv_a")[2]
    _tamper(db, "UPDATE ledger_events SET actor_role = 'owner' WHERE seq = :seq", seq=third.seq)
    with db.read() as s:
        result = LedgerStore().verify(s)
    assert not result.ok
    assert result.first_broken is not None
    assert result.first_broken["seq"] == third.seq


def test_secrets_never_enter_the_ledger(db: Database) -> None:
    payload = {
        "api_key": "sk-abcdefghijklmnopqrstuvwx",
        "headers": {"Authorization": "Bearer stw_abcdefghijklmnopqrstuvwxyz"},
        "note": "my key is sk-ZZZZZZZZZZZZZZZZZZZZZZZZ ok",
        "usage": {"prompt_tokens": 3, "total_tokens": 5},
        "max_tokens": 10,
    }
    ledger = LedgerStore()
    with db.write() as s:
        ledger.append(s, NewEvent(EventType.INPUT, payload, actor=Actor("usr_x", "owner")))
    with db.read() as s:
        raw = s.execute(text("SELECT payload FROM ledger_events")).scalar_one()
    assert "sk-" not in raw
    assert "stw_" not in raw
    stored = json.loads(raw)
    assert stored["api_key"] == "[redacted]"
    assert stored["usage"] == {"prompt_tokens": 3, "total_tokens": 5}
    assert stored["max_tokens"] == 10
    assert stored["note"] == "my key is [redacted] ok"
