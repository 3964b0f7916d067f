"""Approximate cosine search with an HNSW graph (usearch).

Invariants:
- The graph holds one vector per key (usearch `multi=False`); re-adding a key removes the
  old vector first, so a key is never returned twice.
- Vectors are stored as float16: half the memory of float32, a faster build and the same
  recall in our measurements; scores are off by about 1e-3 at most.
- One lock guards every call into usearch: its `add` may reallocate the graph's storage,
  which a concurrent search must not be reading, and a replacement (remove, then add) must
  not be seen half done.

Parameters, measured with `python -m bench.memory` data (384-d, 2 cores, k=10). Search has
time to spare against the targets (p50 <= 5 ms at 100k, <= 50 ms at 1M, recall@10 >= 0.95),
building does not (it is what a process pays at start-up), so the graph is cheap to build
and the search wide:

- connectivity 16, expansion_add 64: 6-8k inserts/s at 100k, 2-4k/s at 1M (the range is
  other load on the machine). Cheaper graphs built faster but lost recall at the same
  search width (100k items, width 512, 300 queries: 16/40 built 1.9x faster, recall 0.971;
  12/48 1.5x, 0.978; 24/48 1.3x, 0.984; 16/64 0.991), and recall is what runs short at 1M.
- expansion_search grows with the square root of the size (`search_width`): 384 at 100k,
  about 1,200 at 1M, never below 256. A fixed width either wastes time on small graphs or
  loses recall on large ones; measured (1,000 queries):

      width            256     384     512     768     1024    1536
      100k  recall     0.965   0.975   0.980   0.983   0.987
            p50 ms     1.3     1.7     2.2     3.1     -
      1M    recall             0.951   0.962   0.971   0.976   0.982
            p50 ms             2.7     3.9     5.5     7.8     11.7

  Storing float32 instead of float16 gave the same recall at every width (the graph, not
  the storage, limits it) and built 1.9x slower.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np
from usearch.index import Index

from backend.memory.index_checks import check_k, key_array, optional_key, unit_query, unit_rows

__all__ = ["CONNECTIVITY", "DTYPE", "EXPANSION_ADD", "HnswIndex", "search_width"]

CONNECTIVITY = 16
EXPANSION_ADD = 64
DTYPE = "f16"
WIDTH_AT_100K = 384
MIN_WIDTH, MAX_WIDTH = 256, 2048


def search_width(size: int) -> int:
    """The expansion_search used on a graph of `size` items (see the module docstring)."""
    return int(min(MAX_WIDTH, max(MIN_WIDTH, WIDTH_AT_100K * math.sqrt(size / 100_000))))


class HnswIndex:
    """Approximate nearest neighbours by cosine similarity (usearch HNSW, float16 storage).

    `expansion_search` fixes the search width; by default it follows `search_width`.

    `add` builds with every core (usearch's own thread pool); `search` answers one query on
    the calling thread, which is how the memory service asks.
    """

    def __init__(
        self,
        dim: int,
        *,
        connectivity: int = CONNECTIVITY,
        expansion_add: int = EXPANSION_ADD,
        expansion_search: int | None = None,
        dtype: str = DTYPE,
    ):
        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim = dim
        self._fixed_width = expansion_search  # None: `search_width` of the current size
        self._index = Index(
            ndim=dim,
            metric="cos",
            dtype=dtype,
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search or MIN_WIDTH,
        )
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        value = optional_key(key)
        if value is None:
            return False
        with self._lock:
            return bool(self._index.contains(value))

    @property
    def nbytes(self) -> int:
        """Bytes usearch reports for the graph and its vectors."""
        return int(self._index.memory_usage)

    def add(self, keys: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors; within one call the last vector given for a key wins."""
        rows = unit_rows(vectors, self.dim)
        key_values = key_array(keys, len(rows))
        if len(key_values) == 0:
            return
        # The position of each key's last occurrence: usearch refuses a key twice in a call.
        reversed_unique, first_from_end = np.unique(key_values[::-1], return_index=True)
        positions = len(key_values) - 1 - first_from_end
        unique = reversed_unique.astype(np.uint64)
        with self._lock:
            present = np.asarray(self._index.contains(unique), dtype=bool)
            if present.any():
                self._index.remove(unique[present])
            self._index.add(unique, rows[positions], threads=0)

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys, vectors) of every live item, to rebuild the graph from."""
        with self._lock:
            keys = np.asarray(self._index.keys, dtype=np.uint64)
            if len(keys) == 0:
                return keys.astype(np.int64), np.empty((0, self.dim), dtype=np.float32)
            vectors = np.asarray(self._index.get(keys), dtype=np.float32)
        return keys.astype(np.int64), vectors.reshape(len(keys), self.dim)

    def remove(self, keys: Sequence[int] | np.ndarray) -> None:
        """Remove the given keys; keys not in the index are ignored."""
        values = [v for v in map(optional_key, keys) if v is not None]
        if values:
            with self._lock:
                self._index.remove(np.array(values, dtype=np.uint64))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(key, cosine similarity) of about the `k` nearest vectors, best first."""
        query = unit_query(vector, self.dim)
        k = check_k(k)
        with self._lock:
            size = len(self._index)
            if size == 0:
                return []
            # usearch declares this setter away from its getter, so mypy sees no setter.
            self._index.expansion_search = self._fixed_width or search_width(size)  # type: ignore[misc]
            matches = self._index.search(query, k, threads=1)
            keys, distances = matches.keys, matches.distances
        # usearch's cosine distance is 1 - cosine similarity.
        similarities = 1.0 - distances.astype(np.float64)
        return list(zip(keys.astype(np.int64).tolist(), similarities.tolist(), strict=True))
