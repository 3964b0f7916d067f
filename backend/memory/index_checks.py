"""Input checks shared by every vector index: keys, vectors, queries and `k`.

Invariants: what leaves these functions is safe to store or search with no further checks.
Keys are a 1-D int64 array of non-negative values; vectors are a C-contiguous float32 array
of shape (n, dim) whose rows are finite and of unit L2 norm; `k` is positive. Anything else
raises `ValueError` saying what was wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_KEY", "check_k", "key_array", "optional_key", "unit_query", "unit_rows"]

# Keys are database row ids; int64 is what both the database and NumPy hold, and usearch's
# uint64 keys take every such value unchanged.
MAX_KEY = 2**63 - 1


def key_array(keys: Sequence[int] | np.ndarray, count: int) -> np.ndarray:
    """`keys` as an int64 array, checked to be `count` non-negative integers."""
    array = np.asarray(keys)
    if array.size == 0:
        array = array.astype(np.int64)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(f"keys must be a sequence of integers, got {array.dtype} {array.shape}")
    if len(array) != count:
        raise ValueError(f"got {len(array)} keys for {count} vectors; pass one key per vector")
    if count and (int(array.min()) < 0 or int(array.max()) > MAX_KEY):
        raise ValueError(f"keys must be database row ids between 0 and {MAX_KEY}")
    return array.astype(np.int64, copy=False)


def optional_key(key: object) -> int | None:
    """`key` as an int if it could be a key of an index, else None (for lookups, removals)."""
    if isinstance(key, bool) or not isinstance(key, int | np.integer):
        return None
    value = int(key)
    return value if 0 <= value <= MAX_KEY else None


def _finite_float32(vectors: np.ndarray | Sequence[float], what: str) -> np.ndarray:
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numbers: {exc}") from None
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contain NaN or infinite values (or values too large for float32)")
    return array


def _normalised(rows: np.ndarray, what: str) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1)
    if not (norms > 0).all():
        raise ValueError(f"{what} include a zero vector, which has no direction to compare")
    if not np.isfinite(norms).all():
        raise ValueError(f"{what} are too large to normalise in float32")
    return np.ascontiguousarray(rows / norms[:, np.newaxis], dtype=np.float32)


def unit_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    """`vectors` of shape (n, dim) as float32 rows of unit length."""
    rows = _finite_float32(vectors, "vectors")
    if rows.ndim != 2 or rows.shape[1] != dim:
        raise ValueError(f"vectors must have shape (n, {dim}), got {rows.shape}")
    if len(rows) == 0:
        return np.empty((0, dim), dtype=np.float32)
    return _normalised(rows, "vectors")


def unit_query(vector: np.ndarray, dim: int) -> np.ndarray:
    """A query of shape (dim,) (or (1, dim)) as a float32 vector of unit length."""
    query = _finite_float32(vector, "the query")
    if query.shape not in ((dim,), (1, dim)):
        raise ValueError(f"the query must have shape ({dim},), got {query.shape}")
    unit: np.ndarray = _normalised(query.reshape(1, dim), "the query")[0]
    return unit


def check_k(k: int) -> int:
    """`k` checked to be a positive integer."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)
