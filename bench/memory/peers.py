"""The contenders of the memory benchmark, each behind the same small interface.

Every peer is built from the same unit vectors (keys `0 .. n-1`) in batches of `BATCH`
items, the size Steward's memory service loads from the database at a time, and answers
one query at a time, as the service asks.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import apsw
import numpy as np
import sqlite_vec

from backend.memory.index import EXACT_THRESHOLD, ExactIndex, HnswIndex, VectorIndex, create_index

__all__ = ["BATCH", "PEER_NAMES", "Peer", "make_peer"]

BATCH = 5000


class Peer(Protocol):
    """One contender: built once, then searched one query at a time."""

    name: str
    brute_force: bool  # scans every item per query (gets fewer queries at large sizes)

    def build(self, vectors: np.ndarray) -> None: ...

    def search(self, query: np.ndarray, k: int) -> list[int]: ...

    def structure_bytes(self) -> int | None: ...

    def close(self) -> None: ...


class NumpyFloor:
    """The floor for exact search: one float32 matrix, one matrix-vector product per query."""

    name = "NumPy exact (floor)"
    brute_force = True

    def __init__(self) -> None:
        self.matrix = np.empty((0, 0), dtype=np.float32)

    def build(self, vectors: np.ndarray) -> None:
        self.matrix = np.empty_like(vectors)
        for start in range(0, len(vectors), BATCH):
            self.matrix[start : start + BATCH] = vectors[start : start + BATCH]

    def search(self, query: np.ndarray, k: int) -> list[int]:
        scores = self.matrix @ query
        top = np.argpartition(-scores, k - 1)[:k]
        result: list[int] = top[np.argsort(-scores[top])].tolist()
        return result

    def structure_bytes(self) -> int | None:
        return int(self.matrix.nbytes)

    def close(self) -> None:
        self.matrix = np.empty((0, 0), dtype=np.float32)


class SqliteVec:
    """sqlite-vec's `vec0` table in a database file, with Steward's pragmas (WAL, NORMAL)."""

    name = "sqlite-vec (vec0)"
    brute_force = True

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="bench-memory-")
        self.path = Path(self._dir.name) / "vec.db"
        self.conn = apsw.Connection(str(self.path))
        self.conn.enable_load_extension(True)
        self.conn.load_extension(sqlite_vec.loadable_path())
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")

    def build(self, vectors: np.ndarray) -> None:
        dim = vectors.shape[1]
        self.conn.execute(
            f"CREATE VIRTUAL TABLE items USING vec0(embedding float[{dim}] distance_metric=cosine)"
        )
        for start in range(0, len(vectors), BATCH):
            batch = vectors[start : start + BATCH]
            rows = ((start + i, row.tobytes()) for i, row in enumerate(batch))
            with self.conn:
                self.conn.executemany("INSERT INTO items(rowid, embedding) VALUES (?, ?)", rows)
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def search(self, query: np.ndarray, k: int) -> list[int]:
        rows = self.conn.execute(
            "SELECT rowid, distance FROM items WHERE embedding MATCH ? AND k = ? ORDER BY distance",
            (query.astype(np.float32).tobytes(), k),
        )
        return [int(rowid) for rowid, _ in rows]

    def structure_bytes(self) -> int | None:
        """Bytes of the database file (the table lives there; SQLite caches only a few MiB)."""
        return sum(p.stat().st_size for p in self.path.parent.iterdir())

    def close(self) -> None:
        self.conn.close()
        self._dir.cleanup()


class Steward:
    """One of Steward's `VectorIndex` implementations."""

    def __init__(self, name: str, factory: Callable[[int], VectorIndex], brute_force: bool):
        self.name = name
        self.brute_force = brute_force
        self.factory = factory
        self.index: VectorIndex | None = None

    def build(self, vectors: np.ndarray) -> None:
        self.index = index = self.factory(vectors.shape[1])
        for start in range(0, len(vectors), BATCH):
            stop = min(start + BATCH, len(vectors))
            index.add(range(start, stop), vectors[start:stop])

    def search(self, query: np.ndarray, k: int) -> list[int]:
        assert self.index is not None
        return [key for key, _ in self.index.search(query, k)]

    def structure_bytes(self) -> int | None:
        nbytes = getattr(self.index, "nbytes", None)
        return int(nbytes) if nbytes is not None else None

    def close(self) -> None:
        self.index = None


def _default_name(size: int) -> str:
    path = "exact" if size <= EXACT_THRESHOLD else "HNSW"
    return f"Steward default ({path})"


PEER_NAMES = ("numpy", "sqlite-vec", "exact", "hnsw", "default")


def make_peer(name: str, size: int) -> Peer | None:
    """The peer called `name` for a run over `size` items, or None if it adds nothing there.

    `hnsw` is skipped above the default's threshold, where the default is that same graph.
    """
    if name == "numpy":
        return NumpyFloor()
    if name == "sqlite-vec":
        return SqliteVec()
    if name == "exact":
        return Steward("Steward ExactIndex", ExactIndex, brute_force=True)
    if name == "hnsw":
        if size > EXACT_THRESHOLD:
            return None
        return Steward("Steward HnswIndex", HnswIndex, brute_force=False)
    if name == "default":
        return Steward(_default_name(size), create_index, brute_force=size <= EXACT_THRESHOLD)
    raise ValueError(f"unknown peer {name!r}; choose from {', '.join(PEER_NAMES)}")


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def pin_mmap_threshold() -> bool:
    """Make glibc serve every allocation over 1 MiB with its own mmap, freed to the OS.

    By default glibc raises that threshold after the first large free, so a peer's freed
    matrix is kept in the heap and reused by the next peer, whose RSS delta then reads 0.
    Returns False where this is not glibc (the deltas are then less reliable).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20))
    except (OSError, AttributeError):
        return False


def trim_heap() -> None:
    """Return free heap memory to the OS (glibc), so RSS counts what is live."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def rss_bytes() -> int:
    """This process's resident set size, from /proc."""
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
