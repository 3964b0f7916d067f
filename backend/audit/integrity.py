"""Whether the events in a report are the ones the hash chain recorded.

Invariants:
- An event verifies when its hash recomputes (`backend.ledger.hashing`) from its own content
  and its `prev_hash`, its `prev_hash` is the hash of the event at `seq - 1` (the genesis
  hash for `seq` 1), and the event at `seq + 1`, if any, links to its hash. The last check is
  what catches an edit whose author also recomputed the edited event's own hash.
- Pure: the caller supplies the neighbours' hashes (`links`); nothing here reads the
  database. Events are checked in `seq` order and the first failure is the one named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backend.ledger.events import StoredEvent
from backend.ledger.hashing import GENESIS, event_hash

__all__ = ["check_event", "integrity", "neighbour_seqs"]

Links = Mapping[int, tuple[str, str]]


def neighbour_seqs(events: Sequence[StoredEvent]) -> set[int]:
    """The seqs whose `(prev_hash, hash)` `check_event` needs for `events`."""
    seqs: set[int] = set()
    for e in events:
        seqs.update((e.seq - 1, e.seq + 1))
    seqs.discard(0)
    return seqs


def check_event(event: StoredEvent, links: Links) -> str | None:
    """Why `event` does not verify, or None if it does."""
    if "unreadable_payload" in event.payload:
        return "payload is not valid JSON"
    envelope = event.public()
    del envelope["hash"]
    if event_hash(event.prev_hash, envelope) != event.hash:
        return "hash does not match the event's content"
    if event.seq == 1:
        expected: str | None = GENESIS
    else:
        before = links.get(event.seq - 1)
        expected = before[1] if before else None
    if expected is None:
        return f"the event before it (seq {event.seq - 1}) is missing"
    if event.prev_hash != expected:
        return f"prev_hash does not match the hash of the event at seq {event.seq - 1}"
    after = links.get(event.seq + 1)
    if after is not None and after[0] != event.hash:
        return f"the event at seq {event.seq + 1} does not link to this event's hash"
    return None


def integrity(events: Sequence[StoredEvent], links: Links) -> dict[str, Any]:
    """`{"verified", "checked", "first_broken"}` for `events` (in seq order)."""
    for e in events:
        reason = check_event(e, links)
        if reason is not None:
            broken = {"seq": e.seq, "event_id": e.event_id, "type": e.type, "reason": reason}
            return {"verified": False, "checked": len(events), "first_broken": broken}
    return {"verified": True, "checked": len(events), "first_broken": None}
