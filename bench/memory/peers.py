"""The contenders of the memory benchmark, each behind the same small interface.

Every peer is built from the same unit vectors (keys `0 .. n-1`) in batches of `BATCH`
items, the size Steward's memory service loads from the database at a time, and answers
one query at a time, as the service asks.

`pgvector` runs Steward's `PgVectorIndex` on the PostgreSQL at `--pgvector-url` (which must
have the extension installed), or else on one started from the `pgserver` wheel (PostgreSQL
16, pgvector 0.6) in a temporary directory, over its Unix socket. Its index lives in the
server's processes, so this process's RSS delta does not count it; "structure" is the
table's size on disk (rows, HNSW index, primary key).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import tempfile
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import apsw
import numpy as np
import psycopg
import sqlite_vec
from sqlalchemy import Engine, create_engine

from backend.memory.index import EXACT_THRESHOLD, ExactIndex, HnswIndex, VectorIndex, create_index
from backend.memory.index_pgvector import EF_SEARCH, PgVectorIndex, ensure_pgvector

__all__ = ["BATCH", "DEFAULT_PEERS", "PEER_NAMES", "Peer", "make_peer"]

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


# PostgreSQL's default (128 MB) holds a third of the table and its graph at 100k items, and
# then every search reads pages back from the OS cache; a server for this load gets more.
PGSERVER_SHARED_BUFFERS = "2GB"


def _start_pgserver() -> Any:
    """A PostgreSQL with pgvector from the pgserver wheel, with `PGSERVER_SHARED_BUFFERS`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        from pgserver.postgres_server import get_server
    data = Path(tempfile.mkdtemp(prefix="bench-pgvector-"))
    first = get_server(data, cleanup_mode="stop")
    with psycopg.connect(first.get_uri(), autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET shared_buffers = '{PGSERVER_SHARED_BUFFERS}'".encode())
    first.cleanup()  # stopped; started again below with the setting
    return get_server(data, cleanup_mode="delete")


class PgVector(Steward):
    """Steward's `PgVectorIndex`: a table with an HNSW index in PostgreSQL (pgvector)."""

    def __init__(self, url: str | None):
        super().__init__(f"Steward PgVectorIndex (ef_search {EF_SEARCH})", self._index, False)
        self._server: Any = None
        if url is None:
            self._server = _start_pgserver()
            url = str(self._server.get_uri())
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        self.engine: Engine = create_engine(url)
        ensure_pgvector(self.engine)
        self.table: str | None = None

    def _index(self, dim: int) -> VectorIndex:
        index = PgVectorIndex(self.engine, dim, model=f"bench-{uuid.uuid4().hex[:8]}")
        self.table = index.table
        return index

    def close(self) -> None:
        if self.table is not None:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{self.table}"')
        self.engine.dispose()
        if self._server is not None:
            self._server.cleanup()
        super().close()


def _default_name(size: int) -> str:
    path = "exact" if size <= EXACT_THRESHOLD else "HNSW"
    return f"Steward default ({path})"


PEER_NAMES = ("numpy", "sqlite-vec", "exact", "hnsw", "default", "pgvector")
# pgvector inserts ~1k items/s into its graph (minutes at 100k): only when asked for.
DEFAULT_PEERS = PEER_NAMES[:-1]


def make_peer(name: str, size: int, pgvector_url: str | None = None) -> Peer | None:
    """The peer called `name` for a run over `size` items, or None if it adds nothing there.

    `hnsw` is skipped above the default's threshold, where the default is that same graph.
    `pgvector` uses the database at `pgvector_url`, or a pgserver of its own.
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
    if name == "pgvector":
        return PgVector(pgvector_url)
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
