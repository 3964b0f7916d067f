"""Event schemas of the ledger (SPEC §4).

Invariants:
- `type` is one of `EventType`'s stable strings; the phase of a multi-step fact (a tool call
  requested/started/completed, a task moving between states) is in the payload's `phase` or
  `status`, so the set of types stays small and stable.
- An event is immutable once appended; `StoredEvent` is its envelope as read back.
- Payloads hold no secrets: `backend.ledger.redact` runs on every payload before hashing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["SYSTEM", "Actor", "EventType", "NewEvent", "StoredEvent"]


class EventType(StrEnum):
    """Stable event type strings."""

    INPUT = "InputEvent"
    PLAN = "PlanEvent"
    ROUTE = "RouteEvent"
    TOOL_CALL = "ToolCallEvent"
    APPROVAL = "ApprovalEvent"
    COMPLETION = "CompletionEvent"
    PATCH = "PatchEvent"
    MEMORY = "MemoryEvent"
    FALLBACK = "FallbackEvent"
    ERROR = "ErrorEvent"
    TASK = "TaskEvent"
    USER = "UserEvent"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused an event: a user with their role, or the system."""

    id: str
    role: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "role": self.role}


SYSTEM = Actor("system", "system")


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append."""

    type: EventType
    payload: dict[str, Any]
    actor: Actor = SYSTEM
    conversation_id: str | None = None
    task_id: str | None = None
    causation_id: str | None = None
    # Payload values the state keeps but the ledger must not (the text of a memory that may
    # hold a credential): the live projection reads them in place of the payload's; they
    # are never hashed or stored.
    withheld: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An appended event with its place in the chain."""

    event_id: str
    seq: int
    ts: str
    type: str
    conversation_id: str | None
    task_id: str | None
    actor: Actor
    causation_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""

    def public(self) -> dict[str, Any]:
        """The Event resource of SPEC's resource shapes."""
        return {
            "event_id": self.event_id,
            "seq": self.seq,
            "ts": self.ts,
            "type": self.type,
            "conversation_id": self.conversation_id,
            "task_id": self.task_id,
            "actor": self.actor.as_dict(),
            "causation_id": self.causation_id,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
