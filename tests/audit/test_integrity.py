"""A report says whether its events verify, and names the first one that does not."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import event

from backend.audit.service import AuditService
from backend.ledger.events import EventType, NewEvent
from backend.ledger.hashing import canonical, event_hash
from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from tests.audit.rendering import render, report, run
from tests.databases import execute, query


def _event_of(r: dict[str, Any], type_: str) -> dict[str, Any]:
    event: dict[str, Any] = next(e for e in r["timeline"] if e["type"] == type_)
    return event


def test_edited_payload_is_reported_not_verified(edge: httpx.Client, database_url: str) -> None:
    task = run(edge, "what did I say?")
    before = report(edge, task_id=task["task_id"])
    completion = _event_of(before, "CompletionEvent")
    forged = {**completion["payload"], "text": "something Steward never said"}
    execute(
        database_url,
        (
            "UPDATE ledger_events SET payload = :payload WHERE event_id = :id",
            {"payload": canonical(forged), "id": completion["event_id"]},
        ),
        unguarded=True,
    )

    after = report(edge, task_id=task["task_id"])
    assert after["task"]["reply"] == "something Steward never said"
    integrity = after["integrity"]
    assert integrity["verified"] is False
    assert integrity["checked"] == len(after["timeline"])
    broken = integrity["first_broken"]
    assert broken["event_id"] == completion["event_id"]
    assert broken["seq"] == completion["seq"]
    assert broken["type"] == "CompletionEvent"
    assert "hash" in broken["reason"]

    conv = report(edge, conversation_id=task["conversation_id"])
    assert conv["integrity"]["verified"] is False
    assert conv["integrity"]["first_broken"]["event_id"] == completion["event_id"]

    md = render(edge, task_id=task["task_id"], format="markdown").text
    assert "**Integrity: NOT verified.**" in md
    assert str(completion["event_id"]) in md
    page = render(edge, task_id=task["task_id"], format="html").text
    assert 'class="integrity bad"' in page
    assert "Integrity: NOT verified" in page


def test_rehashed_edit_is_caught_by_the_next_link(edge: httpx.Client, database_url: str) -> None:
    """Recomputing the edited event's own hash does not help: its successor in the chain
    still names the old hash."""
    task = run(edge, "the original words")
    given = _event_of(report(edge, task_id=task["task_id"]), "InputEvent")
    [row] = query(
        database_url,
        "SELECT event_id, seq, ts, type, conversation_id, task_id, actor_id, actor_role, "
        "causation_id, payload, prev_hash FROM ledger_events WHERE event_id = :id",
        id=given["event_id"],
    )
    payload = {**json.loads(row[9]), "text": "words never typed"}
    envelope = {
        "event_id": row[0],
        "seq": row[1],
        "ts": row[2],
        "type": row[3],
        "conversation_id": row[4],
        "task_id": row[5],
        "actor": {"id": row[6], "role": row[7]},
        "causation_id": row[8],
        "payload": payload,
        "prev_hash": row[10],
    }
    execute(
        database_url,
        (
            "UPDATE ledger_events SET payload = :payload, hash = :hash WHERE event_id = :id",
            {"payload": canonical(payload), "hash": event_hash(row[10], envelope), "id": row[0]},
        ),
        unguarded=True,
    )
    after = report(edge, task_id=task["task_id"])
    assert after["task"]["input"]["text"] == "words never typed"
    broken = after["integrity"]["first_broken"]
    assert after["integrity"]["verified"] is False
    assert broken["event_id"] == given["event_id"]
    assert "does not link" in broken["reason"]


def test_deleted_event_is_reported_missing(edge: httpx.Client, database_url: str) -> None:
    task = run(edge, "hello")
    r = report(edge, task_id=task["task_id"])
    route = _event_of(r, "RouteEvent")
    execute(
        database_url,
        ("DELETE FROM ledger_events WHERE event_id = :id", {"id": route["event_id"]}),
        unguarded=True,
    )
    after = report(edge, task_id=task["task_id"])
    assert after["route"]["backend"] is None
    broken = after["integrity"]["first_broken"]
    assert broken["seq"] == route["seq"] + 1
    assert "missing" in broken["reason"]


def test_verify_is_not_fooled_by_an_append_while_it_reads(database_url: str) -> None:
    # Regression (PostgreSQL): under READ COMMITTED the chain walk saw an event appended
    # after the head was read, and a sound ledger was reported broken ("the chain head says
    # seq 3, but 4 events verify").
    db, writer, ledger = Database(database_url), Database(database_url), LedgerStore()
    db.migrate()

    def append() -> None:
        with writer.write() as s:
            ledger.append(s, NewEvent(EventType.INPUT, {"i": 0}, conversation_id="c"))

    for _ in range(3):
        append()
    walked: list[str] = []

    def append_before_the_walk(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM ledger_events" in statement and not walked:
            walked.append(statement)
            append()  # another process commits between the head's read and the walk

    event.listen(db.reader, "before_cursor_execute", append_before_the_walk)
    try:
        result = AuditService(db).verify()
    finally:
        db.dispose()
        writer.dispose()
    assert walked
    assert result["ok"] is True, result
    assert (result["events"], result["head"]["seq"]) == (3, 3)
