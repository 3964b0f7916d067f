"""The default index's life: exact while small, a graph past the threshold, and a fresh
graph once as many items have been removed or replaced as remain."""

from __future__ import annotations

import numpy as np

from backend.memory.index import HybridIndex
from backend.memory.index_exact import ExactIndex


def _vectors(rng: np.random.Generator, n: int, dim: int = 32) -> np.ndarray:
    centres = rng.normal(size=(20, dim))
    return centres[rng.integers(0, 20, n)] + 0.5 * rng.normal(size=(n, dim))


def _recall(index: HybridIndex, exact: ExactIndex, queries: np.ndarray) -> float:
    found = 0
    for q in queries:
        truth = {k for k, _ in exact.search(q, 10)}
        found += len(truth & {k for k, _ in index.search(q, 10)})
    return found / (10 * len(queries))


def test_replacing_every_item_rebuilds_the_graph_and_keeps_recall() -> None:
    rng = np.random.default_rng(7)
    n = 2000
    index, exact = HybridIndex(32, threshold=100), ExactIndex(32)
    keys = list(range(n))
    first = _vectors(rng, n)
    index.add(keys, first)
    exact.add(keys, first)
    assert index.approximate
    assert index.rebuilds == 0
    for _ in range(2):
        for start in range(0, n, n // 4):
            part = keys[start : start + n // 4]
            fresh = _vectors(rng, len(part))
            index.add(part, fresh)
            exact.add(part, fresh)
    assert index.rebuilds >= 2
    assert len(index) == n
    assert _recall(index, exact, _vectors(rng, 50)) >= 0.95


def test_removed_items_stay_gone_across_a_rebuild() -> None:
    rng = np.random.default_rng(11)
    index = HybridIndex(32, threshold=100)
    index.add(list(range(1000)), _vectors(rng, 1000))
    gone = list(range(0, 1000, 2))
    index.remove(gone)
    index.remove(list(range(1, 200, 2)))
    assert index.rebuilds == 1
    assert len(index) == 400
    hits = {k for q in _vectors(rng, 20) for k, _ in index.search(q, 50)}
    assert hits
    assert hits <= set(range(201, 1000, 2))
