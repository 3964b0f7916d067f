"""Synthetic, embedding-like data for the memory benchmark: fixed seeds, no model needed.

Uniform random unit vectors are a known worst case for approximate search in 384-d (every
point is almost equally far from every other), and nothing like sentence embeddings, which
are clustered by topic, anisotropic (unrelated texts still have a small positive cosine) and
concentrated in fewer directions than they have dimensions. The model here has all three:

- Shape: a random orthonormal basis whose axis `i` has standard deviation
  proportional to `(i + 1) ** -0.5`, so variance decays along the spectrum as it does in a
  sentence-embedding matrix, instead of spreading evenly over 384 axes.
- Topics: `CLUSTERS` centres, each `normalise(COMMON * g + shaped noise)` around one shared
  direction `g` (the anisotropy).
- Items: pick a centre with Zipf-like weights (a few big topics, many small ones), then
  `normalise(centre + SPREAD * shaped noise)`.
- Queries: further items from the same process, held out of the set, each perturbed by
  `normalise(item + JITTER * shaped noise)` (a re-phrasing, not a copy of a stored item).

`describe` reports the resulting cosines (random pairs, each query to its nearest item) so a
run shows what the data looked like; the values in the docstring of `bench.memory` come from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DIM", "Dataset", "describe", "make_dataset"]

DIM = 384
CLUSTERS = 4096
COMMON = 0.4  # weight of the shared direction in a centre, against ~1.0 of centre noise
SPREAD = 0.85  # item noise around its centre
JITTER = 0.45  # query noise around its held-out item
ZIPF = 0.8  # cluster weight ~ 1 / rank ** ZIPF
_CHUNK = 50_000  # rows generated at a time, to bound temporary memory


@dataclass(frozen=True)
class Dataset:
    """`vectors[i]` is item `i` (its key); `queries` are perturbed held-out items."""

    vectors: np.ndarray  # (n, DIM) float32, unit rows
    queries: np.ndarray  # (q, DIM) float32, unit rows


def _unit(rows: np.ndarray) -> np.ndarray:
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


class _Shape:
    """Noise with a decaying spectrum in a random basis."""

    def __init__(self, rng: np.random.Generator, dim: int):
        basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        scale = (np.arange(1, dim + 1) ** -0.5).astype(np.float32)
        # Rescale so the noise has the same total variance as a standard normal per axis,
        # and the SPREAD / JITTER constants read as "relative to a unit-variance vector".
        scale *= np.sqrt(dim / float(np.sum(scale**2)))
        self.transform = (scale[:, np.newaxis] * basis.T).astype(np.float32)
        self.rng = rng

    def noise(self, count: int) -> np.ndarray:
        z = self.rng.standard_normal((count, len(self.transform)), dtype=np.float32)
        noise: np.ndarray = (z @ self.transform) / np.float32(np.sqrt(len(self.transform)))
        return noise


def make_dataset(size: int, queries: int, seed: int = 20240601) -> Dataset:
    """`size` items and `queries` queries, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    shape = _Shape(rng, DIM)
    common = _unit(rng.standard_normal((1, DIM)).astype(np.float32))[0]
    centres = _unit(COMMON * common + shape.noise(CLUSTERS))
    weights = 1.0 / np.arange(1, CLUSTERS + 1) ** ZIPF
    weights /= weights.sum()
    total = size + queries
    vectors = np.empty((total, DIM), dtype=np.float32)
    for start in range(0, total, _CHUNK):
        stop = min(start + _CHUNK, total)
        topic = rng.choice(CLUSTERS, size=stop - start, p=weights)
        vectors[start:stop] = _unit(centres[topic] + SPREAD * shape.noise(stop - start))
    held_out = vectors[size:]
    query_rows = _unit(held_out + JITTER * shape.noise(queries))
    return Dataset(vectors=vectors[:size], queries=query_rows)


def describe(data: Dataset, nearest: np.ndarray, seed: int = 1) -> str:
    """Cosine statistics of the data: random pairs, and each query to its nearest item."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(data.vectors), 2000)
    b = rng.integers(0, len(data.vectors), 2000)
    pairs = np.einsum("ij,ij->i", data.vectors[a], data.vectors[b])
    top1 = np.einsum("ij,ij->i", data.queries, data.vectors[nearest[:, 0]])
    top10 = np.einsum("ij,ij->i", data.queries, data.vectors[nearest[:, -1]])
    return (
        f"cosine of random item pairs: mean {pairs.mean():.3f} (p5 {np.percentile(pairs, 5):.3f}, "
        f"p95 {np.percentile(pairs, 95):.3f}); query to its nearest item: mean "
        f"{top1.mean():.3f}, to its 10th nearest: mean {top10.mean():.3f}"
    )
