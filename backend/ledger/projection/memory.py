"""What memory events mean for `memory_items` and `memory_candidates`.

Invariants (mirroring `backend.memory.service` and `backend.memory.records`):
- `stored` adds an active item whose `key` is the event's seq; `candidate_proposed` adds a
  pending candidate. Both take their owner and writer from the event's actor, their task and
  conversation from its envelope, and `source_event_id` from its cause (the tool call that
  wrote them) or the event itself.
- `merged` / `candidate_merged` carry the row's new confirmations and confidence.
- `candidate_approved` turns a candidate into an item (key = that event's seq) and marks
  the item it supersedes; `candidate_rejected` and `deleted` end a candidate or an item.
- A text that may hold a credential is in the ledger redacted; its `text_sha256` is the
  live text's, and the rebuild compares such texts by that hash.
- `recalled` and `recall_skipped` change no state.
"""

from __future__ import annotations

from typing import Any

from backend.ledger.events import StoredEvent
from backend.ledger.projection.state import Row, RowView, Target, at, dump
from backend.memory.records import SHARED_COLUMNS

__all__ = ["SHARED", "on_memory"]

SHARED = SHARED_COLUMNS


def _written(ev: StoredEvent, status: str) -> Row:
    p = ev.payload
    return {
        "user_id": ev.actor.id,
        "text": p["text"],
        "text_sha256": p["text_sha256"],
        "kind": p["kind"],
        "confidence": p["confidence"],
        "origin": p["origin"],
        "impact": dump(p["impact"]),
        "source": p.get("source"),
        "source_event_id": ev.causation_id or ev.event_id,
        "task_id": ev.task_id,
        "conversation_id": ev.conversation_id,
        "actor_id": ev.actor.id,
        "confirmations": 1,
        "status": status,
        "created_at": ev.ts,
        "updated_at": ev.ts,
    }


def _item(memory_id: str, key: int, fields: RowView, **extra: Any) -> Row:
    return {
        "id": memory_id,
        "key": key,
        "candidate_id": None,
        "supersedes": None,
        "superseded_by": None,
        "deleted_by": None,
        "deleted_at": None,
        **fields,
        **extra,
    }


def on_memory(state: Target, ev: StoredEvent) -> None:
    p = ev.payload
    phase = p.get("phase")
    items, candidates = state.table("memory_items"), state.table("memory_candidates")
    if phase == "stored":
        items[p["memory_id"]] = _item(p["memory_id"], ev.seq, _written(ev, "active"))
    elif phase == "candidate_proposed":
        candidates[p["candidate_id"]] = {
            "id": p["candidate_id"],
            **_written(ev, "pending"),
            "reasons": dump(p.get("reasons", [])),
            "supersedes": p.get("supersedes"),
            "memory_id": None,
            "decided_by": None,
            "decided_at": None,
            "reason": None,
        }
    elif phase in ("merged", "candidate_merged"):
        row = items.get(p.get("memory_id")) if phase == "merged" else None
        row = row or candidates.get(p.get("candidate_id"))
        if row is not None:
            row["confirmations"], row["confidence"] = p["confirmations"], p["confidence"]
            row["updated_at"] = at(ev)
    elif phase == "candidate_approved":
        _approve(state, ev)
    elif phase == "candidate_rejected":
        cand = candidates.get(p["candidate_id"])
        if cand is not None:
            _decide(cand, ev, "rejected")
    elif phase == "deleted":
        item = items.get(p["memory_id"])
        if item is not None:
            item["status"], item["deleted_by"] = "deleted", ev.actor.id
            item["deleted_at"] = item["updated_at"] = ev.ts


def _decide(cand: RowView, ev: StoredEvent, status: str) -> None:
    cand["status"], cand["decided_by"], cand["reason"] = status, ev.actor.id, ev.payload["reason"]
    cand["decided_at"] = cand["updated_at"] = ev.ts


def _approve(state: Target, ev: StoredEvent) -> None:
    p = ev.payload
    items = state.table("memory_items")
    cand = state.table("memory_candidates").get(p["candidate_id"])
    if cand is None:
        return
    memory_id, replaces = p["memory_id"], p.get("supersedes")
    shared = {c: cand[c] for c in SHARED}
    items[memory_id] = _item(
        memory_id,
        ev.seq,
        shared,
        candidate_id=cand["id"],
        supersedes=replaces,
        status="active",
        created_at=ev.ts,
        updated_at=ev.ts,
    )
    old = items.get(replaces) if replaces else None
    if old is not None:
        old["status"], old["superseded_by"], old["updated_at"] = "superseded", memory_id, ev.ts
    cand["memory_id"] = memory_id
    _decide(cand, ev, "approved")
