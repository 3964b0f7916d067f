"""The memory vector index: one interface, its implementations and the embedded default.

An index is derived from the database, which holds every vector: the embedded ones here are
built by each Edge process in its own memory (`backend.memory.vectors`); `PgVectorIndex`
(`index_pgvector`) keeps one table per model in Edge's PostgreSQL database instead. Keys are
database row ids (non-negative ints); vectors are L2-normalised by the index, and scores are
cosine similarities, best first. Every implementation is safe to call from several threads
at once. `tests/memory/test_index_contract.py` is the contract each one must pass.

The default (`create_index`) is `HybridIndex`: exact search while the index is small, HNSW
once it grows past `EXACT_THRESHOLD` items. The threshold is where the two cross, measured
on 384-d embedding-like data (`bench.memory.data`), 2 cores, one query at a time (p50):

    items          5k       10k      15k      20k      30k      100k
    exact          0.13 ms  0.33 ms  0.86 ms  1.4 ms   2.3 ms   7.7 ms
    HNSW           0.23 ms  0.33 ms  0.60 ms  0.92 ms  0.79 ms  2.3 ms
    HNSW recall    0.997    0.995    0.991    0.986    0.980    0.976

Up to 10k items exact search is as fast as the graph, exact, and its adds are ~20x cheaper
(the graph inserts ~20k items/s there). Past that it slows linearly (the matrix outgrows the
CPU cache and the search becomes bound by memory bandwidth) and misses the 5 ms target at
100k, while the graph answers in ~2 ms at 100k and under 10 ms at 1M, recall@10 >= 0.97
(see `index_hnsw`). When other work
shares the cores, exact search suffers more: NumPy's BLAS splits it over both cores and
waits for the busier one (p99 8-10 ms at 10k-20k items in one such run, the graph ~1.5 ms).

The switch happens inside the `add` that crosses the threshold: the HNSW graph is built
from the exact index's vectors plus the new ones, then replaces it. Searches keep using the
exact index while the graph builds, so they never wait for it. The index never switches
back: a memory store mostly grows, and a smaller graph only gets more accurate.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from backend.memory.index_exact import ExactIndex
from backend.memory.index_hnsw import HnswIndex

__all__ = [
    "EXACT_THRESHOLD",
    "ExactIndex",
    "HnswIndex",
    "HybridIndex",
    "VectorIndex",
    "create_index",
]

EXACT_THRESHOLD = 10_000


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest neighbours by cosine similarity over (key, vector) pairs.

    Keys are non-negative ints. `add` takes one key per row of an (n, dim) array (anything
    float32-able), normalises each row and replaces the vector of a key already present
    (within one call, the last row given for a key wins). `remove` ignores unknown keys.
    `search` returns at most `min(k, len)` (key, cosine similarity) pairs, best first, and
    `[]` when empty. A wrong shape, a negative key, a non-finite or zero vector, or
    `k <= 0` raises `ValueError` and changes nothing.
    """

    dim: int

    def add(self, keys: Sequence[int], vectors: np.ndarray) -> None: ...

    def remove(self, keys: Sequence[int]) -> None: ...

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...


class HybridIndex:
    """Exact search up to `threshold` items, then an HNSW graph (see the module docstring)."""

    def __init__(self, dim: int, *, threshold: int = EXACT_THRESHOLD):
        if threshold < 0:
            raise ValueError(f"threshold must not be negative, got {threshold}")
        self.dim = dim
        self.threshold = threshold
        self._inner: ExactIndex | HnswIndex = ExactIndex(dim)
        self._removed = 0  # removals (and replacements) since the graph was built
        self.rebuilds = 0
        # Orders writers, so a write made while the graph is being built is never lost;
        # readers use whichever inner index is current and its own lock.
        self._write_lock = threading.Lock()

    @property
    def approximate(self) -> bool:
        """Whether the index has switched to HNSW."""
        return isinstance(self._inner, HnswIndex)

    @property
    def nbytes(self) -> int:
        """Bytes of the current inner structure (see `ExactIndex.nbytes`, `HnswIndex.nbytes`)."""
        return self._inner.nbytes

    def __len__(self) -> int:
        return len(self._inner)

    def __contains__(self, key: object) -> bool:
        return key in self._inner

    def add(self, keys: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors, switching to HNSW if the index would outgrow exact search."""
        with self._write_lock:
            inner = self._inner
            if isinstance(inner, HnswIndex):
                replaced = sum(1 for k in keys if k in inner)
                inner.add(keys, vectors)
                self._after_removals(inner, replaced)
                return
            if self._fits(inner, keys):
                inner.add(keys, vectors)
                return
            graph = HnswIndex(self.dim)
            graph.add(*inner.items())
            graph.add(keys, vectors)  # a ValueError here leaves the exact index in place
            self._inner, self._removed = graph, 0

    def _fits(self, exact: ExactIndex, keys: Sequence[int] | np.ndarray) -> bool:
        if len(exact) + len(keys) <= self.threshold:
            return True
        # Counting the new keys costs a lookup each, so only near the threshold.
        return len(exact) + len({k for k in keys if k not in exact}) <= self.threshold

    def remove(self, keys: Sequence[int] | np.ndarray) -> None:
        """Remove the given keys; keys not in the index are ignored."""
        with self._write_lock:
            inner = self._inner
            if not isinstance(inner, HnswIndex):
                inner.remove(keys)
                return
            before = len(inner)
            inner.remove(keys)
            self._after_removals(inner, before - len(inner))

    def _after_removals(self, graph: HnswIndex, count: int) -> None:
        # A graph loses recall as nodes are removed or replaced (usearch reuses their slots
        # but their links decay: 0.99 -> 0.96 after replacing every item once), so once as
        # many have gone as remain, build a fresh graph from the live vectors. Searches keep
        # using the old graph until the new one is swapped in.
        self._removed += count
        if self._removed <= max(len(graph), self.threshold) // 2:
            return
        fresh = HnswIndex(self.dim)
        keys, vectors = graph.items()
        if len(keys):
            fresh.add(keys, vectors)
        self._inner, self._removed = fresh, 0
        self.rebuilds += 1

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(key, cosine similarity) of the `k` nearest vectors, best first."""
        return self._inner.search(vector, k)


def create_index(dim: int) -> VectorIndex:
    """The default embedded index for `dim`-dimensional vectors."""
    return HybridIndex(dim)
