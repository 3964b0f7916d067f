"""What a memory write records: its context, the event payloads and the row columns.

Invariants:
- The event payload holds everything a rebuild needs to recreate the row, except that the
  text of anything that may hold a credential is redacted (its SHA-256 stays).
- `source_event_id` is the event that produced the memory: the tool call that wrote it, or
  the write's own event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.ledger.redact import REDACTED
from backend.memory.embeddings import content_hash
from backend.memory.signals import is_credential
from backend.storage.models import MemoryCandidate, MemoryItem

__all__ = ["SHARED_COLUMNS", "Facts", "WriteContext", "merge_payload"]


@dataclass(frozen=True, slots=True)
class WriteContext:
    """Where a write comes from: the API (no task) or a tool call inside a task."""

    origin: str = "user"
    source: str | None = None
    task_id: str | None = None
    conversation_id: str | None = None
    cause: str | None = None


SHARED_COLUMNS = (
    "user_id",
    "text",
    "text_sha256",
    "kind",
    "confidence",
    "origin",
    "impact",
    "source",
    "source_event_id",
    "task_id",
    "conversation_id",
    "actor_id",
    "confirmations",
)


@dataclass(frozen=True, slots=True)
class Facts:
    """A write's content and context, as the event and the row record it."""

    text: str
    kind: str
    confidence: float
    impact: list[str]
    ctx: WriteContext

    def payload(self) -> dict[str, Any]:
        secret = is_credential(self.impact)
        return {
            "text": f"{REDACTED} (may hold a credential)" if secret else self.text,
            "text_sha256": content_hash(self.text),
            "kind": self.kind,
            "confidence": self.confidence,
            "origin": self.ctx.origin,
            "impact": self.impact,
            "source": self.ctx.source,
        }

    def withheld(self) -> dict[str, Any]:
        """What the row keeps that the ledger must not: the text of a possible credential."""
        return {"text": self.text} if is_credential(self.impact) else {}


def merge_payload(
    phase: str, row: MemoryItem | MemoryCandidate, facts: Facts, confidence: float
) -> dict[str, Any]:
    """The event of one more confirmation of `row`, now held with `confidence`."""
    key = "memory_id" if isinstance(row, MemoryItem) else "candidate_id"
    return {
        "phase": phase,
        key: row.id,
        "text_sha256": content_hash(facts.text),
        "origin": facts.ctx.origin,
        "confirmations": row.confirmations + 1,
        "confidence": confidence,
    }
