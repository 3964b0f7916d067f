"""Edge's embeddings: Core's `/v1/embeddings`, cached in the database by (model, content hash).

Invariants:
- The cache key is the model id Core *served* (its answer's `model`), never an alias such as
  `default`: when the model behind an alias changes, old vectors are not mixed with new ones.
  The alias is learned from Core's first answer in this process; until then every text goes
  to Core once.
- A text is hashed as UTF-8 exactly as given (SHA-256); identical texts share one vector.
- Vectors are float32, unit length, stored little-endian; the cache only grows (a vector of
  a model for a text never changes) and is safe to share between processes: a concurrent
  insert of the same key is ignored.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.clock import now_text
from backend.core_client import CoreClient
from backend.storage.db import Database
from backend.storage.models import EmbeddingCacheEntry

__all__ = ["Embedded", "EmbeddingClient", "content_hash", "from_blob", "to_blob"]

_BATCH = 64


def content_hash(text: str) -> str:
    """The cache key of a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_blob(vector: np.ndarray) -> bytes:
    """float32 little-endian bytes."""
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes, dim: int) -> np.ndarray:
    """The vector a blob holds (a read-only view is fine for searching)."""
    vector = np.frombuffer(blob, dtype="<f4")
    if vector.shape[0] != dim:
        raise ValueError(f"a cached vector has {vector.shape[0]} values, expected {dim}")
    return vector


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: np.ndarray = (matrix / norms).astype(np.float32)
    return out


@dataclass(frozen=True, slots=True)
class Embedded:
    """Vectors for some texts: `vectors[i]` belongs to `hashes[i]`."""

    model: str
    hashes: list[str]
    vectors: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


class EmbeddingClient:
    """Embeds texts through Core, reusing cached vectors."""

    def __init__(self, db: Database, core: CoreClient, model: str = "default"):
        self.db = db
        self.core = core
        self.requested = model
        self._served: str | None = None
        self._lock = asyncio.Lock()

    @property
    def served_model(self) -> str | None:
        """The model Core answered with, once known."""
        return self._served

    async def embed(self, texts: Sequence[str]) -> Embedded:
        """A unit vector per text, in order (cached ones from the database)."""
        hashes = [content_hash(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        model = self._served
        if model is not None:
            found = await asyncio.to_thread(self._cached, model, set(hashes))
        missing = {h: t for h, t in zip(hashes, texts, strict=True) if h not in found}
        if missing:
            model, fresh = await self._fetch(list(missing.items()))
            found.update(fresh)
        assert model is not None or not texts
        if not texts:
            return Embedded(model or self.requested, [], np.zeros((0, 0), np.float32))
        assert model is not None
        return Embedded(model, hashes, np.stack([found[h] for h in hashes]))

    async def embed_one(self, text: str) -> tuple[str, np.ndarray]:
        """(served model, unit vector) of one text."""
        embedded = await self.embed([text])
        return embedded.model, embedded.vectors[0]

    async def _fetch(self, items: list[tuple[str, str]]) -> tuple[str, dict[str, np.ndarray]]:
        model = self._served or self.requested
        fresh: dict[str, np.ndarray] = {}
        for start in range(0, len(items), _BATCH):
            batch = items[start : start + _BATCH]
            result = await self.core.embeddings([t for _, t in batch], model=self.requested)
            model = result.model
            vectors = _unit(np.asarray(result.vectors, dtype=np.float32))
            fresh.update({h: v for (h, _), v in zip(batch, vectors, strict=True)})
        async with self._lock:
            self._served = model
        await asyncio.to_thread(self._store, model, fresh)
        return model, fresh

    def _cached(self, model: str, hashes: set[str]) -> dict[str, np.ndarray]:
        with self.db.read() as s:
            return cached_vectors(s, model, hashes)

    def _store(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        now = now_text()
        try:
            with self.db.write() as s:
                have = set(cached_vectors(s, model, set(vectors)))
                s.add_all(
                    EmbeddingCacheEntry(
                        model=model,
                        content_sha256=h,
                        dim=int(v.shape[0]),
                        vector=to_blob(v),
                        created_at=now,
                    )
                    for h, v in vectors.items()
                    if h not in have
                )
        except IntegrityError:
            pass  # another process cached the same vectors first; theirs are identical


def cached_vectors(s: Session, model: str, hashes: set[str]) -> dict[str, np.ndarray]:
    """The cached vectors of `model` among `hashes`."""
    found: dict[str, np.ndarray] = {}
    keys = sorted(hashes)
    for start in range(0, len(keys), 500):
        rows = s.execute(
            select(
                EmbeddingCacheEntry.content_sha256,
                EmbeddingCacheEntry.dim,
                EmbeddingCacheEntry.vector,
            ).where(
                EmbeddingCacheEntry.model == model,
                EmbeddingCacheEntry.content_sha256.in_(keys[start : start + 500]),
            )
        )
        found.update({h: from_blob(blob, dim) for h, dim, blob in rows})
    return found
