"""Memory's vector indexes over active memory items, one per embedding model, derived from
the database (items + the embeddings cache) and kept in step with it; and which kind of
index Edge uses (`index_factory`): embedded in the process, or pgvector tables in Edge's
PostgreSQL database, shared by its processes.

Invariants:
- The database is the truth; an index is a cache of it. `sync` adds every active item with a
  key above the index's watermark (keys are ledger seqs, committed in order, so nothing is
  skipped), so items written by other processes on the same database are found too.
- An index may still hold keys of items deleted or superseded elsewhere; callers re-read
  every hit from the database and drop the stale ones (`discard`).
- Items with no cached vector for the model (written while another model served) are
  returned by `sync` as `missing`, for the caller to embed and `add`.
- A pgvector table outlives the process and is shared: each process still syncs from its
  own watermark (from 0 at start), which re-adds what is there already; those adds are
  upserts that leave an unchanged row alone, so they are idempotent and cheap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, select

from backend.memory.embeddings import from_blob
from backend.memory.index import VectorIndex, create_index
from backend.memory.index_pgvector import PgVectorIndex, PgVectorUnavailable, ensure_pgvector
from backend.settings import EdgeSettings
from backend.storage.db import Database
from backend.storage.models import EmbeddingCacheEntry, MemoryItem

__all__ = ["IndexFactory", "MemoryVectors", "Missing", "embedded_index", "index_factory"]

log = logging.getLogger("steward.edge")

IndexFactory = Callable[[str, int], VectorIndex]
"""Builds the index of one embedding model: `factory(model, dim)`."""

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


def embedded_index(model: str, dim: int) -> VectorIndex:
    """The embedded default (`create_index`), in this process's memory."""
    return create_index(dim)


def index_factory(db: Database, settings: EdgeSettings) -> IndexFactory:
    """The index kind `settings.memory_index` asks for, on `db`.

    `auto` picks pgvector when `db` is PostgreSQL and the extension is there or can be
    created, else the embedded index; `pgvector` raises `PgVectorUnavailable` saying how to
    fix it when it cannot be used. Blocks on the database: call it off the event loop.
    """
    choice = settings.memory_index
    if choice == "embedded" or (choice == "auto" and db.dialect != "postgresql"):
        return embedded_index
    try:
        version = ensure_pgvector(db.writer)
    except PgVectorUnavailable as exc:
        if choice == "pgvector":
            raise PgVectorUnavailable(
                f"STEWARD_MEMORY_INDEX is pgvector, but {exc}; or set STEWARD_MEMORY_INDEX to "
                "auto or embedded to keep memory's index in each Edge process."
            ) from None
        log.info("memory index: embedded, since pgvector cannot be used: %s", exc)
        return embedded_index
    log.info("memory index: pgvector %s, a table per embedding model in Edge's database", version)
    engine = db.writer

    def pgvector_index(model: str, dim: int) -> VectorIndex:
        return PgVectorIndex(engine, dim, model=model)

    return pgvector_index


class MemoryVectors:
    """Per-model indexes over the active memory items."""

    def __init__(self, db: Database, factory: IndexFactory = embedded_index):
        self.db = db
        self.factory = factory
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _entry(self, model: str, dim: int) -> _Entry:
        with self._lock:
            entry = self._entries.get(model)
            if entry is None or entry.index.dim != dim:
                entry = self._entries[model] = _Entry(self.factory(model, dim))
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
        # No `len` check first: an empty index answers [], and a shared table would pay a
        # count(*) per search for it.
        return [] if entry is None else entry.index.search(vector, k)

    def size(self, model: str) -> int:
        """How many vectors the model's index holds."""
        with self._lock:
            entry = self._entries.get(model)
        return len(entry.index) if entry is not None else 0
