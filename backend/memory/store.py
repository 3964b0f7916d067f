"""SQL for memory items and candidates.

Invariants:
- An item's `key` (the integer the vector index knows it by) is the ledger `seq` of the
  event that created it: unique, increasing in commit order, the same after a rebuild.
- Items are never removed: deletion and supersession are statuses (`deleted`,
  `superseded`), so a deleted item can never come back through a stale index entry — every
  search result is re-read here and kept only while `active`.
- A candidate is `pending` until the owner approves or rejects it, once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.pagination import Cursor, before
from backend.storage.models import MemoryCandidate, MemoryItem

__all__ = ["MemoryFilters", "MemoryStore", "candidate_public", "item_public"]


@dataclass(frozen=True, slots=True)
class MemoryFilters:
    """Narrowing a query or a list."""

    kind: str | None = None
    origin: str | None = None


def _common(row: MemoryItem | MemoryCandidate) -> dict[str, Any]:
    return {
        "text": row.text,
        "kind": row.kind,
        "confidence": row.confidence,
        "origin": row.origin,
        "impact": json.loads(row.impact),
        "source": row.source,
        "source_event_id": row.source_event_id,
        "task_id": row.task_id,
        "conversation_id": row.conversation_id,
        "user_id": row.user_id,
        "written_by": row.actor_id,
        "confirmations": row.confirmations,
        "status": row.status,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def item_public(item: MemoryItem, score: float | None = None) -> dict[str, Any]:
    """The MemoryItem resource (with `score` in query results)."""
    body = {"memory_id": item.id, **_common(item)}
    body.update(
        {
            "candidate_id": item.candidate_id,
            "supersedes": item.supersedes,
            "superseded_by": item.superseded_by,
            "deleted_at": item.deleted_at,
            "deleted_by": item.deleted_by,
        }
    )
    if score is not None:
        body["score"] = round(score, 6)
    return body


def candidate_public(cand: MemoryCandidate, superseded: MemoryItem | None) -> dict[str, Any]:
    """The Candidate resource; `superseded_item` is the item approving it would replace."""
    return {
        "candidate_id": cand.id,
        **_common(cand),
        "reasons": json.loads(cand.reasons),
        "supersedes": cand.supersedes,
        "superseded_item": item_public(superseded) if superseded is not None else None,
        "memory_id": cand.memory_id,
        "decided_by": cand.decided_by,
        "decided_at": cand.decided_at,
        "reason": cand.reason,
    }


class MemoryStore:
    """Queries on `memory_items` and `memory_candidates`."""

    def item(self, s: Session, memory_id: str) -> MemoryItem | None:
        return s.get(MemoryItem, memory_id)

    def candidate(self, s: Session, candidate_id: str) -> MemoryCandidate | None:
        return s.get(MemoryCandidate, candidate_id)

    def items_by_keys(
        self, s: Session, keys: Sequence[int], user_id: str, filters: MemoryFilters
    ) -> dict[int, MemoryItem]:
        """Active items of `user_id` among `keys` that pass `filters`."""
        if not keys:
            return {}
        q = select(MemoryItem).where(
            MemoryItem.key.in_(list(keys)),
            MemoryItem.user_id == user_id,
            MemoryItem.status == "active",
        )
        q = self._filtered(q, filters)
        return {row.key: row for row in s.scalars(q)}

    def inactive_keys(self, s: Session, keys: Sequence[int]) -> list[int]:
        """Keys among `keys` whose items are no longer active (to drop from an index)."""
        if not keys:
            return []
        q = select(MemoryItem.key).where(
            MemoryItem.key.in_(list(keys)), MemoryItem.status != "active"
        )
        return list(s.scalars(q))

    def active_items(self, s: Session, user_id: str, filters: MemoryFilters) -> list[MemoryItem]:
        """Every active item of a user (the exact path of a filtered query)."""
        q = select(MemoryItem).where(MemoryItem.user_id == user_id, MemoryItem.status == "active")
        return list(s.scalars(self._filtered(q, filters)))

    def by_hash(self, s: Session, user_id: str, sha: str) -> list[MemoryItem]:
        """Active items of a user with exactly this text."""
        q = select(MemoryItem).where(
            MemoryItem.user_id == user_id,
            MemoryItem.text_sha256 == sha,
            MemoryItem.status == "active",
        )
        return list(s.scalars(q))

    def pending_candidates(self, s: Session, user_id: str) -> list[MemoryCandidate]:
        q = select(MemoryCandidate).where(
            MemoryCandidate.user_id == user_id, MemoryCandidate.status == "pending"
        )
        return list(s.scalars(q))

    def page_items(
        self,
        s: Session,
        *,
        user_id: str | None,
        status: str | None,
        filters: MemoryFilters,
        cursor: Cursor | None,
        limit: int,
    ) -> Sequence[MemoryItem]:
        q = self._filtered(select(MemoryItem), filters)
        return s.scalars(_page(q, MemoryItem, user_id, status, cursor, limit)).all()

    def page_candidates(
        self,
        s: Session,
        *,
        user_id: str | None,
        status: str | None,
        cursor: Cursor | None,
        limit: int,
    ) -> Sequence[MemoryCandidate]:
        q = select(MemoryCandidate)
        return s.scalars(_page(q, MemoryCandidate, user_id, status, cursor, limit)).all()

    @staticmethod
    def _filtered(q: Any, filters: MemoryFilters) -> Any:
        if filters.kind is not None:
            q = q.where(MemoryItem.kind == filters.kind)
        if filters.origin is not None:
            q = q.where(MemoryItem.origin == filters.origin)
        return q


def _page(
    q: Any,
    table: type[MemoryItem] | type[MemoryCandidate],
    user_id: str | None,
    status: str | None,
    cursor: Cursor | None,
    limit: int,
) -> Any:
    """One page of `q` over `table`, newest first, for a user and a status if given."""
    if user_id is not None:
        q = q.where(table.user_id == user_id)
    if status is not None:
        q = q.where(table.status == status)
    if cursor is not None:
        q = q.where(before(table.created_at, table.id, cursor))
    return q.order_by(table.created_at.desc(), table.id.desc()).limit(limit)
