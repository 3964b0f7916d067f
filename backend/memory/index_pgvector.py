"""Cosine search in PostgreSQL with the pgvector extension: one table per embedding model.

Invariants:
- One table per (model, dim), `memory_vectors_<model slug>_<dim>_<hash of the model>`:
  `key bigint PRIMARY KEY, embedding vector(dim)`, with an HNSW index (`vector_cosine_ops`).
  The table is shared by every Edge process on the database, so adds are idempotent
  upserts: a row whose vector is unchanged is not rewritten (no new tuple, no index insert).
- Inputs are checked with `index_checks` before any SQL runs, so a `ValueError` leaves the
  table untouched; each add or remove is one transaction.
- Keys are written in ascending order, so two processes upserting overlapping keys lock
  rows in the same order and cannot deadlock each other.
- A search sets `hnsw.ef_search` for its own transaction only (`SET LOCAL`): at least
  `EF_SEARCH` and at least `k`, since an HNSW scan returns no more than ef_search rows;
  past pgvector's limit (1,000) it scans the table exactly instead.
- Thread safety comes from the SQLAlchemy engine's pool: every call checks out its own
  connection.

`ensure_pgvector` says whether a database can hold such tables, creating the extension
when it is installed but not yet created, and says how to fix it when not. Nothing in
Alembic's migrations needs the extension: these tables are created at run time.

The graph is pgvector's default (m 16, ef_construction 64, as the embedded graph). Its
search width, measured on `bench.memory` data (100k 384-d items, 300 queries, k=10, 2 cores
shared with other work, PostgreSQL's default 128 MB shared_buffers):

    ef_search     40      64      100     150     200     300     400
    recall@10     0.908   0.944   0.967   0.977   0.981   0.990   0.992
    p50 ms        2.1     2.7     3.7     5.0     6.3     8.7     11.9

The contract test's data (3,000 points in 50 noisy clusters) is harder: recall@10 0.92 at
100, 0.95 at 120, 0.98 at 150, 0.996 at 200. `EF_SEARCH` = 200 keeps a margin on both.
Adding costs one graph insert per row in one server process: 300-400 rows/s at 100k (a build
pgvector pays once per database, not per Edge process); re-adding 100k unchanged rows, as a
new process's first sync does, took 2.5 s. With shared_buffers holding the table and graph
(2 GB), 1,000 queries at 200 took p50 5.3 ms, p99 10.5 ms, recall@10 0.976: docs/BENCHMARKS.md
has the comparison with the embedded index.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from backend.memory.index_checks import check_k, key_array, optional_key, unit_query, unit_rows

__all__ = [
    "EF_SEARCH",
    "INSTALL_HINT",
    "PgVectorIndex",
    "PgVectorUnavailable",
    "ensure_pgvector",
    "table_name",
]

EF_SEARCH = 200
MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search
MAX_HNSW_DIM = 2000  # pgvector 0.6 indexes `vector` columns of up to 2,000 dimensions
MAX_DIM = 16_000  # the widest `vector` column
CONNECTIVITY, EXPANSION_ADD = 16, 64  # HNSW m and ef_construction, as the embedded graph
MIN_VERSION = (0, 5, 0)  # the first pgvector with HNSW
_PREFIX = "memory_vectors_"
_LOCK_CLASS = 7_355_609  # advisory locks: next to the migrations' 7_355_608
INSTALL_HINT = (
    "install pgvector on the PostgreSQL server (Debian/Ubuntu: `apt install "
    "postgresql-{major}-pgvector`; elsewhere see "
    "https://github.com/pgvector/pgvector#installation, or run the `pgvector/pgvector:pg{major}` "
    "docker image), then restart Edge"
)


class PgVectorUnavailable(RuntimeError):
    """Edge's database cannot hold pgvector tables; the message says why and how to fix it."""


def table_name(model: str, dim: int) -> str:
    """The table of `model`'s `dim`-dimensional vectors: a readable slug of the model and a
    hash of its exact name (two models whose slugs collide still get two tables)."""
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")[:24] or "model"
    digest = hashlib.sha256(model.encode()).hexdigest()[:8]
    return f"{_PREFIX}{slug}_{dim}_{digest}"


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


def ensure_pgvector(engine: Engine) -> str:
    """The version of pgvector in `engine`'s database, creating the extension if it is
    installed on the server but not yet created there. Raises `PgVectorUnavailable` saying
    what to do when the database is not PostgreSQL, the extension is not installed or too
    old, or the role may not create it."""
    if engine.dialect.name != "postgresql":
        raise PgVectorUnavailable(
            f"Edge's database is {engine.dialect.name}, and pgvector needs PostgreSQL: set "
            "DATABASE_URL to a PostgreSQL database with the pgvector extension installed"
        )
    with engine.begin() as conn:
        major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10_000
        where = f"PostgreSQL {major} (database {conn.engine.url.database!r})"
        installed = conn.execute(
            text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        ).scalar_one_or_none()
        if installed is None:
            available = conn.execute(
                text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            ).scalar_one_or_none()
            if available is None:
                raise PgVectorUnavailable(
                    f"{where} has no pgvector extension: {INSTALL_HINT.format(major=major)}"
                )
            installed = _create_extension(conn, where)
    version = tuple(int(part) for part in re.findall(r"\d+", str(installed))[:3])
    if version < MIN_VERSION:
        raise PgVectorUnavailable(
            f"{where} has pgvector {installed}; memory needs 0.5.0 or newer (HNSW): "
            "upgrade the package, then run `ALTER EXTENSION vector UPDATE;`"
        )
    return str(installed)


def _create_extension(conn: Connection, where: str) -> str:
    # Serialised, so several Edge processes starting at once do not race to create it.
    conn.execute(text("SELECT pg_advisory_xact_lock(:c, 0)"), {"c": _LOCK_CLASS})
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except DBAPIError as exc:
        role = conn.execute(text("SELECT current_user")).scalar_one()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise PgVectorUnavailable(
            f"{where} has pgvector installed but the role {role!r} could not create the "
            f"extension ({reason}): a superuser runs `CREATE EXTENSION vector;` in that "
            "database once"
        ) from None
    return str(
        conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar()
    )


class _Vector:
    """A vector in pgvector's binary wire format: dim, 0, then big-endian float32s."""

    __slots__ = ("data",)

    def __init__(self, row: np.ndarray):
        self.data = struct.pack(">HH", len(row), 0) + row.astype(">f4").tobytes()


class _VectorDumper(Dumper):
    # Binary: ~1 µs a vector, where formatting pgvector's text form costs ~250 µs.
    format = Format.BINARY

    def dump(self, obj: _Vector) -> bytes:
        return obj.data


def _dumper_for(oid: int) -> type[_VectorDumper]:
    return type("VectorDumper", (_VectorDumper,), {"oid": oid})


class PgVectorIndex:
    """Nearest neighbours by cosine similarity in a PostgreSQL table (pgvector HNSW).

    `engine` is a SQLAlchemy engine (psycopg 3) on a database where `ensure_pgvector`
    succeeded; the table for (`model`, `dim`) is created if it does not exist. PostgreSQL's
    planner answers small tables by a full scan (exact) and larger ones through the HNSW
    index (approximate).
    """

    def __init__(
        self, engine: Engine, dim: int, *, model: str = "default", ef_search: int = EF_SEARCH
    ):
        if not 0 < dim <= MAX_DIM:
            raise ValueError(f"dim must be between 1 and {MAX_DIM}, got {dim}")
        if not 1 <= ef_search <= MAX_EF_SEARCH:
            raise ValueError(f"ef_search must be between 1 and {MAX_EF_SEARCH}, got {ef_search}")
        self.dim = dim
        self.model = model
        self.ef_search = ef_search
        self.engine = engine
        self.table = table_name(model, dim)
        self._sql = _Statements(self.table)
        self._dumper: type[_VectorDumper] | None = None
        self._dumper = _dumper_for(self._create())

    def _create(self) -> int:
        """Create the table and its index if missing; pgvector's type oid (for the dumper)."""
        with self._cursor() as cur:
            # CREATE ... IF NOT EXISTS still races on the catalog; one creator at a time.
            cur.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, _lock_key(self.table))
            )
            cur.execute(self._sql.create_table(self.dim))
            if self.dim <= MAX_HNSW_DIM:  # wider vectors are searched by a full scan
                cur.execute(self._sql.create_index)
            cur.execute("SELECT CAST(CAST('vector' AS regtype) AS oid)")
            row = cur.fetchone()
        assert row is not None
        return int(row[0])

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[tuple[Any, ...]]]:
        """A psycopg cursor in a transaction of its own, on a connection of the pool."""
        with self.engine.begin() as conn:
            dbapi = conn.connection.dbapi_connection
            if not isinstance(dbapi, psycopg.Connection):
                raise TypeError(f"PgVectorIndex needs psycopg 3, got {type(dbapi).__name__}")
            with dbapi.cursor() as cur:
                if self._dumper is not None:
                    cur.adapters.register_dumper(_Vector, self._dumper)  # this cursor only
                yield cur

    def _scalar(self, query: sql.Composed | sql.SQL, params: Sequence[Any] = ()) -> Any:
        with self._cursor() as cur:
            cur.execute(query, params)
            row = cur.fetchone()
        assert row is not None
        return row[0]

    def __len__(self) -> int:
        return int(self._scalar(self._sql.count))

    def __contains__(self, key: object) -> bool:
        value = optional_key(key)
        return value is not None and bool(self._scalar(self._sql.exists, [value]))

    @property
    def nbytes(self) -> int:
        """Bytes of the table, its HNSW index and its primary key on disk."""
        return int(self._scalar(sql.SQL("SELECT pg_total_relation_size(%s)"), [self.table]))

    def add(self, keys: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors; within one call the last vector given for a key wins."""
        rows = unit_rows(vectors, self.dim)
        latest = {key: i for i, key in enumerate(key_array(keys, len(rows)).tolist())}
        if latest:
            params = [(key, _Vector(rows[latest[key]])) for key in sorted(latest)]
            with self._cursor() as cur:
                cur.executemany(self._sql.upsert, params)

    def remove(self, keys: Sequence[int] | np.ndarray) -> None:
        """Remove the given keys; keys not in the index are ignored."""
        values = sorted({v for v in map(optional_key, keys) if v is not None})
        if values:
            with self._cursor() as cur:
                cur.execute(self._sql.delete, [values])

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(key, cosine similarity) of the `k` nearest vectors, best first."""
        query = _Vector(unit_query(vector, self.dim))
        k = check_k(k)
        with self._cursor() as cur:
            if k <= MAX_EF_SEARCH:
                width = str(max(self.ef_search, k))
                cur.execute("SELECT set_config('hnsw.ef_search', %s, true)", [width])
            else:  # an HNSW scan would stop at ef_search rows: scan exactly instead
                cur.execute("SELECT set_config('enable_indexscan', 'off', true)")
            cur.execute(self._sql.nearest, (query, k))
            rows = cur.fetchall()
        return [(int(key), 1.0 - float(distance)) for key, distance in rows]


class _Statements:
    """The SQL of one table, its name quoted once by psycopg."""

    def __init__(self, table: str):
        t = sql.Identifier(table)
        self.table = t
        self.create_index = sql.SQL(
            "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw (embedding vector_cosine_ops) "
            "WITH (m = {}, ef_construction = {})"
        ).format(
            sql.Identifier(f"{table}_hnsw"),
            t,
            sql.Literal(CONNECTIVITY),
            sql.Literal(EXPANSION_ADD),
        )
        self.count = sql.SQL("SELECT count(*) FROM {}").format(t)
        self.exists = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE key = %s)").format(t)
        # An unchanged vector is not rewritten: re-syncing a shared table costs no writes.
        self.upsert = sql.SQL(
            "INSERT INTO {t} (key, embedding) VALUES (%s, %b) "
            "ON CONFLICT (key) DO UPDATE SET embedding = EXCLUDED.embedding "
            "WHERE {t}.embedding IS DISTINCT FROM EXCLUDED.embedding"
        ).format(t=t)
        self.delete = sql.SQL("DELETE FROM {} WHERE key = ANY(%s)").format(t)
        self.nearest = sql.SQL(
            "SELECT key, embedding <=> %b AS distance FROM {} ORDER BY distance LIMIT %s"
        ).format(t)

    def create_table(self, dim: int) -> sql.Composed:
        return sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (key bigint PRIMARY KEY, embedding vector({}) NOT NULL)"
        ).format(self.table, sql.Literal(dim))
