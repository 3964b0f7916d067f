"""SQL for audit reports: a task's or a conversation's events, and the hashes around them.

Invariants:
- Reads only: nothing here writes, so a report can never change what it reports on.
- Events come from `ledger_events` alone, in `seq` order. The one other table read is
  `conversations`, and only for who owns a conversation (access control, not content).
- A row whose payload is not valid JSON (only possible if the file was edited) is still
  returned, with the raw text under `unreadable_payload`, so the report can show it and the
  integrity check can flag it instead of the request failing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.ledger.events import Actor, StoredEvent
from backend.storage.models import Conversation, LedgerEvent

__all__ = ["AuditStore"]

# SQLite caps bound parameters per statement (32766 in current builds, 999 in old ones);
# chunking `IN (...)` lists keeps large reports working everywhere.
_IN_CHUNK = 500


def _payload(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {"unreadable_payload": raw}
    return value if isinstance(value, dict) else {"unreadable_payload": raw}


def _stored(row: LedgerEvent) -> StoredEvent:
    return StoredEvent(
        event_id=row.event_id,
        seq=row.seq,
        ts=row.ts,
        type=row.type,
        conversation_id=row.conversation_id,
        task_id=row.task_id,
        actor=Actor(row.actor_id, row.actor_role),
        causation_id=row.causation_id,
        payload=_payload(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class AuditStore:
    """The reads an audit report needs."""

    def task_events(self, session: Session, task_id: str) -> list[StoredEvent]:
        """Every event of a task, in seq order."""
        rows = session.scalars(
            select(LedgerEvent).where(LedgerEvent.task_id == task_id).order_by(LedgerEvent.seq)
        )
        return [_stored(r) for r in rows]

    def conversation_events(self, session: Session, conversation_id: str) -> list[StoredEvent]:
        """Every event of a conversation (its tasks' and its own), in seq order."""
        rows = session.scalars(
            select(LedgerEvent)
            .where(LedgerEvent.conversation_id == conversation_id)
            .order_by(LedgerEvent.seq)
        )
        return [_stored(r) for r in rows]

    def links(self, session: Session, seqs: Iterable[int]) -> dict[int, tuple[str, str]]:
        """`(prev_hash, hash)` of the events at `seqs` that exist."""
        wanted = sorted(set(seqs))
        found: dict[int, tuple[str, str]] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            rows = session.execute(
                select(LedgerEvent.seq, LedgerEvent.prev_hash, LedgerEvent.hash).where(
                    LedgerEvent.seq.in_(chunk)
                )
            )
            for seq, prev_hash, hash_ in rows:
                found[seq] = (prev_hash, hash_)
        return found

    def conversation_owner(self, session: Session, conversation_id: str) -> str | None:
        """The user id a conversation belongs to, or None if there is no such conversation."""
        return session.scalar(
            select(Conversation.user_id).where(Conversation.id == conversation_id)
        )
