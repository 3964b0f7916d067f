"""The recall step of a task: which memories go into its prompt, recorded once.

Invariants:
- The step is a `MemoryEvent` (phase `recalled`, with each item's id and score) caused by
  the task's route; a resumed task reuses the recorded items instead of searching again, so
  a retry sees the same memories the first attempt did.
- Memory is an aid, not a dependency: when it is off, or embeddings cannot be had, the task
  goes on without memories and the event says why (phase `recall_skipped`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.errors import EdgeError
from backend.ledger.events import StoredEvent
from backend.memory.service import MemoryService
from backend.storage.db import Database
from backend.storage.models import MemoryItem

__all__ = ["RECALL_PHASES", "recall_payload", "recalled_texts"]

RECALL_PHASES = ("recalled", "recall_skipped")


async def recall_payload(
    memory: MemoryService,
    user_id: str,
    text: str,
    *,
    enabled: bool,
    top_k: int,
    min_score: float,
) -> dict[str, Any]:
    """The payload of the recall event: what was found for `text`, or why nothing was."""
    if not enabled or top_k <= 0:
        why = "memory is turned off" if not enabled else "the config recalls no memories"
        return {"phase": "recall_skipped", "reason": why, "items": []}
    try:
        hits = await memory.recall(user_id, text, top_k, min_score)
    except EdgeError as exc:
        return {"phase": "recall_skipped", "reason": exc.detail, "items": []}
    return {
        "phase": "recalled",
        "model": memory.search.embeddings.served_model,
        "top_k": top_k,
        "min_score": min_score,
        "items": [{"memory_id": h.item.id, "score": round(h.score, 6)} for h in hits],
    }


def recalled_texts(db: Database, event: StoredEvent) -> list[str]:
    """The texts of the items a recall event names, in its order."""
    ids = [i["memory_id"] for i in event.payload.get("items", [])]
    if not ids:
        return []
    with db.read() as s:
        rows = {m.id: m.text for m in s.scalars(select(MemoryItem).where(MemoryItem.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]
