"""What a replay compares: each event of a task reduced to what decisions determine.

Invariants:
- A summary keeps the facts the loop and the policy decide (type, phase or status, tool,
  tool call id, arguments, risk, the policy's decision and reason, the approval decision
  and its decider, completion text and finish reason, config revision, tools offered, step
  limit) and drops what any honest re-run changes: timestamps and `at`, ids of events and
  approvals, durations, attempts, hashes, the actor of system events.
- Events that are not the task's decision path are left out of both sides: the recall
  `MemoryEvent` (a recorded input, carried into the replay unchanged) and every other
  `MemoryEvent` (what a tool wrote; tools do not run in a replay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.ledger.events import EventType, StoredEvent

__all__ = ["Mismatch", "compared", "first_mismatch", "summary"]

_FIELDS: dict[str, tuple[str, ...]] = {
    EventType.INPUT: ("text",),
    EventType.PLAN: ("phase", "tools", "max_steps", "config_revision", "text", "tool_calls"),
    EventType.ROUTE: ("backend", "model"),
    EventType.TOOL_CALL: (
        "phase",
        "tool",
        "tool_call_id",
        "args",
        "arguments",
        "risk",
        "decision",
        "policy",
        "step",
        "reason",
        "error",
    ),
    EventType.APPROVAL: ("phase", "tool", "tool_call_id", "args", "risk", "decided_by", "reason"),
    EventType.COMPLETION: ("text", "finish_reason"),
    EventType.ERROR: ("code", "message"),
    EventType.TASK: ("status", "from", "phase", "config_revision", "pending_approvals"),
}


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The first place the replay differs: its index in the compared events, the two
    summaries (None where one side has no event) and the field that differs."""

    index: int
    recorded: dict[str, Any] | None
    replayed: dict[str, Any] | None
    field: str


def compared(events: list[StoredEvent]) -> list[StoredEvent]:
    """The events on the task's decision path (see the module's invariants)."""
    return [e for e in events if e.type != EventType.MEMORY]


def summary(event: StoredEvent) -> dict[str, Any]:
    """`event` reduced to the fields decisions determine."""
    out: dict[str, Any] = {"type": event.type}
    for name in _FIELDS.get(event.type, ()):
        if name in event.payload:
            out[name] = event.payload[name]
    if event.actor.role != "system":
        # Who decided matters (an approval's decider); the system's actor is not a decision.
        out["actor"] = event.actor.id
    return out


def first_mismatch(recorded: list[StoredEvent], replayed: list[StoredEvent]) -> Mismatch | None:
    """The first differing event of the two decision paths, or None if they match."""
    for i in range(max(len(recorded), len(replayed))):
        a = summary(recorded[i]) if i < len(recorded) else None
        b = summary(replayed[i]) if i < len(replayed) else None
        if a is None or b is None:
            return Mismatch(i, a, b, "type" if a is None or b is None else "")
        for name in ("type", *sorted((a.keys() | b.keys()) - {"type"})):
            if a.get(name) != b.get(name):
                return Mismatch(i, a, b, name)
    return None
