"""Append, query and verify the ledger.

Invariants:
- `append` runs inside the caller's write transaction, so an event is committed exactly when
  the state change it explains is, or not at all.
- Appends are serialised by the `ledger_head` row (locked with FOR UPDATE on PostgreSQL; the
  whole SQLite write transaction is exclusive): `seq` is gapless and monotonic, `ts` never
  goes backwards, and each event's `prev_hash` is its predecessor's `hash`.
- Events are never updated or deleted (database triggers enforce it).
- Payloads are redacted before they are hashed and stored.
- Each event is applied to the state tables as it is appended (`projection.live`), by the
  handlers `steward ledger rebuild` replays: the rows it explains are written there, not
  by the services.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clock import now_text
from backend.ids import new_id
from backend.ledger.events import Actor, NewEvent, StoredEvent
from backend.ledger.hashing import GENESIS, canonical, event_hash
from backend.ledger.projection.live import project
from backend.ledger.redact import redact
from backend.storage.db import PENDING_EVENTS
from backend.storage.models import LedgerEvent, LedgerHead


def _envelope(row: LedgerEvent, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "seq": row.seq,
        "ts": row.ts,
        "type": row.type,
        "conversation_id": row.conversation_id,
        "task_id": row.task_id,
        "actor": {"id": row.actor_id, "role": row.actor_role},
        "causation_id": row.causation_id,
        "payload": payload,
        "prev_hash": row.prev_hash,
    }


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
        payload=json.loads(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of walking the chain."""

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    first_broken: dict[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verified": self.ok,
            "events": self.events,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "first_broken": self.first_broken,
        }


class LedgerStore:
    """SQL for the ledger."""

    def append(self, session: Session, event: NewEvent) -> StoredEvent:
        """Append `event` in `session`'s transaction and return it as stored."""
        head = session.execute(
            select(LedgerHead).where(LedgerHead.id == 1).with_for_update()
        ).scalar_one()
        payload = redact(event.payload)
        ts = max(now_text(), head.ts)
        row = LedgerEvent(
            seq=head.seq + 1,
            event_id=new_id("evt"),
            ts=ts,
            type=str(event.type),
            conversation_id=event.conversation_id,
            task_id=event.task_id,
            actor_id=event.actor.id,
            actor_role=event.actor.role,
            causation_id=event.causation_id,
            payload=canonical(payload),
            prev_hash=head.hash,
            hash="",
        )
        row.hash = event_hash(head.hash, _envelope(row, payload))
        session.add(row)
        head.seq, head.hash, head.ts = row.seq, row.hash, row.ts
        stored = _stored(row)
        project(session, replace(stored, payload=event.payload | event.withheld))
        session.info.setdefault(PENDING_EVENTS, []).append(stored)
        return stored

    def for_conversation(
        self, session: Session, conversation_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[StoredEvent]:
        """Events of a conversation in order, after a cursor."""
        rows = session.scalars(
            select(LedgerEvent)
            .where(LedgerEvent.conversation_id == conversation_id, LedgerEvent.seq > after_seq)
            .order_by(LedgerEvent.seq)
            .limit(limit)
        )
        return [_stored(r) for r in rows]

    def for_task(
        self, session: Session, task_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events of a task in order, after a cursor."""
        rows = session.scalars(
            select(LedgerEvent)
            .where(LedgerEvent.task_id == task_id, LedgerEvent.seq > after_seq)
            .order_by(LedgerEvent.seq)
            .limit(limit)
        )
        return [_stored(r) for r in rows]

    def between(self, session: Session, first_seq: int, last_seq: int) -> list[StoredEvent]:
        """Events with `first_seq <= seq <= last_seq`, in order."""
        rows = session.scalars(
            select(LedgerEvent)
            .where(LedgerEvent.seq >= first_seq, LedgerEvent.seq <= last_seq)
            .order_by(LedgerEvent.seq)
        )
        return [_stored(r) for r in rows]

    def last_event_id(self, session: Session, task_id: str) -> str | None:
        """The id of a task's latest event (what caused the next one, when nothing else did)."""
        return session.scalar(
            select(LedgerEvent.event_id)
            .where(LedgerEvent.task_id == task_id)
            .order_by(LedgerEvent.seq.desc())
            .limit(1)
        )

    def verify(self, session: Session, *, batch: int = 5000) -> VerifyResult:
        """Walk the whole chain; report the first broken link."""
        head = session.execute(select(LedgerHead).where(LedgerHead.id == 1)).scalar_one()
        prev_hash, expected_seq, count = GENESIS, 1, 0
        while True:
            rows = session.scalars(
                select(LedgerEvent)
                .where(LedgerEvent.seq >= expected_seq)
                .order_by(LedgerEvent.seq)
                .limit(batch)
            ).all()
            for row in rows:
                broken = self._check(row, prev_hash, expected_seq)
                if broken:
                    return VerifyResult(False, count, head.seq, head.hash, broken)
                prev_hash, expected_seq, count = row.hash, row.seq + 1, count + 1
            if len(rows) < batch:
                break
        if head.seq != count or head.hash != prev_hash:
            broken = {
                "seq": count + 1 if head.seq > count else head.seq,
                "event_id": None,
                "reason": f"the chain head says seq {head.seq}, but {count} events verify",
            }
            return VerifyResult(False, count, head.seq, head.hash, broken)
        return VerifyResult(True, count, head.seq, head.hash)

    @staticmethod
    def _check(row: LedgerEvent, prev_hash: str, expected_seq: int) -> dict[str, Any] | None:
        where = {"seq": row.seq, "event_id": row.event_id}
        if row.seq != expected_seq:
            return {**where, "reason": f"event {expected_seq} is missing (next is {row.seq})"}
        if row.prev_hash != prev_hash:
            return {**where, "reason": "prev_hash does not match the previous event's hash"}
        try:
            payload = json.loads(row.payload)
        except json.JSONDecodeError:
            return {**where, "reason": "payload is not valid JSON"}
        if event_hash(prev_hash, _envelope(row, payload)) != row.hash:
            return {**where, "reason": "hash does not match the event's content"}
        return None
