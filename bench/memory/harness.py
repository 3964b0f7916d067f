"""One run of the memory benchmark: per size, build every peer in turn and time its queries.

Invariants: peers run one at a time in the same process, on the same data and queries, and
each is closed (its memory freed) before the next is built, so RSS deltas do not overlap.
Recall@10 is against an exact float32 search of the same data. Progress goes to stderr.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np

from bench.memory.data import Dataset, describe, make_dataset
from bench.memory.peers import Peer, make_peer, pin_mmap_threshold, rss_bytes, trim_heap

__all__ = ["K", "Result", "exact_top_k", "query_count", "run"]

K = 10
WARMUP = 5
SCAN_BUDGET = 20_000_000  # items a brute-force peer scans over all its timed queries
MIN_SCAN_QUERIES = 20


@dataclass(frozen=True)
class Result:
    """One peer at one size."""

    size: int
    peer: str
    queries: int
    p50_ms: float
    p99_ms: float
    recall: float
    insert_per_s: float
    rss_delta: int
    structure: int | None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def exact_top_k(data: Dataset, k: int, chunk: int = 100_000) -> np.ndarray:
    """The true top-k keys per query (chunks bound the score matrix to queries x chunk)."""
    best_keys = np.empty((len(data.queries), 0), dtype=np.int64)
    best_scores = np.empty((len(data.queries), 0), dtype=np.float32)
    for start in range(0, len(data.vectors), chunk):
        scores = data.queries @ data.vectors[start : start + chunk].T
        keep = min(k, scores.shape[1])
        top = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]
        best_keys = np.hstack([best_keys, top + start])
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, top, axis=1)])
        order = np.argsort(-best_scores, axis=1, kind="stable")[:, :k]
        best_keys = np.take_along_axis(best_keys, order, axis=1)
        best_scores = np.take_along_axis(best_scores, order, axis=1)
    return best_keys


def query_count(peer: Peer, size: int, queries: int) -> int:
    """All queries, or fewer for a brute-force peer at large sizes (bounded run time)."""
    if not peer.brute_force:
        return queries
    return min(queries, max(MIN_SCAN_QUERIES, SCAN_BUDGET // size))


def _measure(peer: Peer, data: Dataset, truth: np.ndarray, queries: int) -> Result:
    size = len(data.vectors)
    gc.collect()
    trim_heap()
    before = rss_bytes()
    start = time.perf_counter()
    peer.build(data.vectors)
    build_s = time.perf_counter() - start
    gc.collect()
    trim_heap()
    rss_delta = rss_bytes() - before
    log(f"  {peer.name}: built {size:,} in {build_s:.1f} s; {queries} queries ...")
    for query in data.queries[:WARMUP]:
        peer.search(query, K)
    latencies: list[float] = []
    found = 0
    for query, expected in zip(data.queries[:queries], truth[:queries], strict=True):
        start = time.perf_counter()
        keys = peer.search(query, K)
        latencies.append(time.perf_counter() - start)
        found += len(set(keys) & set(expected.tolist()))
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return Result(
        size=size,
        peer=peer.name,
        queries=queries,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=p99 * 1000,
        recall=found / (K * queries),
        insert_per_s=size / build_s,
        rss_delta=rss_delta,
        structure=peer.structure_bytes(),
    )


def run(
    sizes: list[int],
    peer_names: list[str],
    queries: int,
    seed: int,
    pgvector_url: str | None = None,
) -> list[Result]:
    """Every peer at every size; the results in run order."""
    if not pin_mmap_threshold():
        log("warning: not glibc; RSS deltas may miss memory reused between peers")
    results: list[Result] = []
    for size in sizes:
        log(f"{size:,} items: generating data (seed {seed}) ...")
        data = make_dataset(size, queries, seed=seed)
        truth = exact_top_k(data, K)
        log(f"  {describe(data, truth)}")
        for name in peer_names:
            peer = make_peer(name, size, pgvector_url)
            if peer is None:
                continue
            try:
                result = _measure(peer, data, truth, query_count(peer, size, queries))
            finally:
                peer.close()
            log(
                f"  {result.peer}: p50 {result.p50_ms:.3f} ms, p99 {result.p99_ms:.3f} ms, "
                f"recall@10 {result.recall:.3f}, {result.insert_per_s:,.0f} items/s"
            )
            results.append(result)
        del data, truth
    return results
