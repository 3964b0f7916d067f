"""The process's vector indexes over active memory items, one per embedding model, derived
from the database (items + the embeddings cache) and kept in step with it.

Invariants:
- The database is the truth; an index is a cache of it. `sync` adds every active item with a
  key above the index's watermark (keys are ledger seqs, committed in order, so nothing is
  skipped), so items written by other processes on the same database are found too.
- An index may still hold keys of items deleted or superseded elsewhere; callers re-read
  every hit from the database and drop the stale ones (`discard`).
- Items with no cached vector for the model (written while another model served) are
  returned by `sync` as `missing`, for the caller to embed and `add`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, select

from backend.memory.embeddings import from_blob
from backend.memory.index import VectorIndex, create_index
from backend.storage.db import Database
from backend.storage.models import EmbeddingCacheEntry, MemoryItem

__all__ = ["MemoryVectors", "Missing"]

_SYNC_BATCH = 5000


@dataclass(frozen=True, slots=True)
class Missing:
    """An active item without a vector for the model."""

    key: int
    text: str


class _Entry:
    def __init__(self, index: VectorIndex):
        self.index = index
        self.watermark = 0


class MemoryVectors:
    """Per-model indexes over the active memory items."""

    def __init__(self, db: Database, factory: Callable[[int], VectorIndex] = create_index):
        self.db = db
        self.factory = factory
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _entry(self, model: str, dim: int) -> _Entry:
        with self._lock:
            entry = self._entries.get(model)
            if entry is None or entry.index.dim != dim:
                entry = self._entries[model] = _Entry(self.factory(dim))
            return entry

    def sync(self, model: str, dim: int) -> list[Missing]:
        """Add the items committed since the last sync; the ones without a vector back."""
        entry = self._entry(model, dim)
        missing: list[Missing] = []
        with self._lock:
            while True:
                rows = self._rows_after(model, entry.watermark)
                if not rows:
                    return missing
                keys, vectors = [], []
                for key, text, blob, stored_dim in rows:
                    if blob is None or stored_dim != dim:
                        missing.append(Missing(key, text))
                    else:
                        keys.append(key)
                        vectors.append(from_blob(blob, dim))
                if keys:
                    entry.index.add(keys, np.stack(vectors))
                entry.watermark = rows[-1][0]
                if len(rows) < _SYNC_BATCH:
                    return missing

    def _rows_after(self, model: str, watermark: int) -> list[tuple[int, str, bytes | None, int]]:
        cache = EmbeddingCacheEntry
        q = (
            select(MemoryItem.key, MemoryItem.text, cache.vector, cache.dim)
            .outerjoin(
                cache,
                and_(cache.model == model, cache.content_sha256 == MemoryItem.text_sha256),
            )
            .where(MemoryItem.status == "active", MemoryItem.key > watermark)
            .order_by(MemoryItem.key)
            .limit(_SYNC_BATCH)
        )
        with self.db.read() as s:
            return [(k, t, v, d) for k, t, v, d in s.execute(q)]

    def add(self, model: str, keys: Sequence[int], vectors: np.ndarray) -> None:
        """Index vectors computed by the caller (a fresh write, a backfill)."""
        if len(keys):
            self._entry(model, int(vectors.shape[1])).index.add(keys, vectors)

    def discard(self, keys: Sequence[int]) -> None:
        """Drop keys (deleted or superseded items) from every index."""
        if not keys:
            return
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            entry.index.remove(keys)

    def search(self, model: str, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(key, cosine) of the nearest indexed items, best first."""
        with self._lock:
            entry = self._entries.get(model)
        if entry is None or len(entry.index) == 0:
            return []
        return entry.index.search(vector, k)

    def size(self, model: str) -> int:
        """How many vectors the model's index holds."""
        with self._lock:
            entry = self._entries.get(model)
        return len(entry.index) if entry is not None else 0
