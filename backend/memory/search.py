"""Finding memories: embed the question, search the index, re-read every hit.

Invariants:
- Only `active` items of the asking user are ever returned, whatever the index holds: each
  hit is re-read from the database, and stale keys are dropped from the index on the way.
- Results are best first by cosine similarity. When the index's nearest hits are mostly
  filtered out (another user's items, a `kind` filter), the search widens, and finally scores
  the user's matching items exactly, so a filter never hides a match.
- Embedding failures surface as `ServiceUnavailable` (503) naming Core and what to do.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import numpy as np

from backend.core_client import CoreClientError
from backend.errors import ServiceUnavailable, Unprocessable
from backend.memory.embeddings import EmbeddingClient, cached_vectors
from backend.memory.signals import is_credential
from backend.memory.store import MemoryFilters, MemoryStore
from backend.memory.vectors import MemoryVectors
from backend.storage.db import Database
from backend.storage.models import MemoryCandidate, MemoryItem

__all__ = ["Hit", "MemorySearch"]

_WIDEN_ROUNDS = 2


@dataclass(frozen=True, slots=True)
class Hit:
    """A memory item and how close it is to the question."""

    item: MemoryItem
    score: float


class MemorySearch:
    """Embeddings + index + store, for queries and for the write policy's neighbours."""

    def __init__(self, db: Database, embeddings: EmbeddingClient, vectors: MemoryVectors):
        self.db = db
        self.embeddings = embeddings
        self.vectors = vectors
        self.store = MemoryStore()

    async def embed(self, text: str) -> tuple[str, np.ndarray]:
        """(model, vector) of a text; 503 saying Core is needed, or 422 when the model can
        place the text nowhere (a zero vector: no words it knows, only symbols)."""
        try:
            model, vector = await self.embeddings.embed_one(text)
        except CoreClientError as exc:
            raise ServiceUnavailable(
                f"Memory needs embeddings from Core, and Core could not give them: {exc.reason}",
                code="embeddings_unavailable",
            ) from None
        if not np.any(vector):
            raise Unprocessable(
                f"The embedding model ({model}) finds nothing to compare in {text[:40]!r}: "
                "it has no words it knows. Use at least one word.",
                code="text_not_embeddable",
            )
        return model, vector

    async def synced(self, model: str, dim: int) -> None:
        """Bring the model's index up to date, embedding items it has no vector for."""
        missing = await asyncio.to_thread(self.vectors.sync, model, dim)
        if missing:
            embedded = await self.embeddings.embed([m.text for m in missing])
            keys = [m.key for m in missing]
            await asyncio.to_thread(self.vectors.add, model, keys, embedded.vectors)

    async def query(
        self,
        user_id: str,
        text: str,
        top_k: int,
        filters: MemoryFilters | None = None,
        *,
        min_score: float | None = None,
        skip_secrets: bool = False,
    ) -> list[Hit]:
        """The user's `top_k` active items nearest to `text`, best first."""
        model, vector = await self.embed(text)
        return await self.nearest(
            user_id, model, vector, top_k, filters or MemoryFilters(), min_score, skip_secrets
        )

    async def nearest(
        self,
        user_id: str,
        model: str,
        vector: np.ndarray,
        top_k: int,
        filters: MemoryFilters,
        min_score: float | None = None,
        skip_secrets: bool = False,
    ) -> list[Hit]:
        """Like `query`, for a vector already embedded with `model`."""
        await self.synced(model, int(vector.shape[0]))
        fetch = max(top_k * 3, top_k + 10)
        hits: list[Hit] = []
        for _ in range(_WIDEN_ROUNDS):
            # Off the event loop: a pgvector index searches in the database.
            found = await asyncio.to_thread(self.vectors.search, model, vector, fetch)
            hits = await asyncio.to_thread(self._resolve, found, user_id, filters)
            if len(hits) >= top_k or len(found) < fetch:
                break
            fetch *= 8
        else:
            hits = await asyncio.to_thread(self._exact, model, vector, user_id, filters)
        if min_score is not None:
            hits = [h for h in hits if h.score >= min_score]
        if skip_secrets:
            hits = [h for h in hits if not is_credential(_impact(h.item))]
        return hits[:top_k]

    def _resolve(
        self, found: list[tuple[int, float]], user_id: str, filters: MemoryFilters
    ) -> list[Hit]:
        keys = [k for k, _ in found]
        with self.db.read() as s:
            rows = self.store.items_by_keys(s, keys, user_id, filters)
            stale = self.store.inactive_keys(s, keys)
        self.vectors.discard(stale)
        return [Hit(rows[k], score) for k, score in found if k in rows]

    def _exact(
        self, model: str, vector: np.ndarray, user_id: str, filters: MemoryFilters
    ) -> list[Hit]:
        with self.db.read() as s:
            items = self.store.active_items(s, user_id, filters)
            cached = cached_vectors(s, model, {i.text_sha256 for i in items})
        scored = [
            Hit(i, float(np.dot(cached[i.text_sha256], vector)))
            for i in items
            if i.text_sha256 in cached
        ]
        return sorted(scored, key=lambda h: -h.score)

    async def pending_near(
        self, user_id: str, model: str, vector: np.ndarray, limit: int = 5
    ) -> list[tuple[MemoryCandidate, float]]:
        """The user's pending candidates nearest to `vector` (there are few: exact)."""

        def load() -> list[MemoryCandidate]:
            with self.db.read() as s:
                return self.store.pending_candidates(s, user_id)

        pending = await asyncio.to_thread(load)
        if not pending:
            return []
        embedded = await self.embeddings.embed([c.text for c in pending])
        if embedded.model != model:
            return []
        scores = embedded.vectors @ vector
        ranked = sorted(zip(pending, scores.tolist(), strict=True), key=lambda p: -p[1])
        return ranked[:limit]


def _impact(item: MemoryItem) -> list[str]:
    impact: list[str] = json.loads(item.impact)
    return impact
