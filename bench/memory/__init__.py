"""Memory benchmark: Steward's vector indexes against NumPy brute force and sqlite-vec.

One run, per size (10k, 100k and 1M items by default), on the same data:

- NumPy exact (floor): one float32 matrix, one matrix-vector product and `argpartition`
  per query; the floor for exact search.
- sqlite-vec: a `vec0` table (`float[384] distance_metric=cosine`) in a database file with
  Steward's pragmas (WAL, synchronous NORMAL), queried with `MATCH ? AND k = 10`.
- Steward's default (`backend.memory.index.create_index`), and `ExactIndex` (the floor
  plus keys, locks and checks); `HnswIndex` alone only at sizes where the default is still
  exact, since above that the default is that same graph.
- On request (`--peers pgvector`): `PgVectorIndex`, a table with an HNSW index in PostgreSQL
  (`--pgvector-url`, or a PostgreSQL 16 with pgvector 0.6 started from the pgserver wheel).

Measured per peer: insert throughput (all items in batches of 5,000, as the memory service
loads them, divided by the wall time including any graph build), query latency p50/p99 (one
query at a time, k=10, after 5 untimed queries), recall@10 against an exact float32 search,
and memory (RSS growth over the build, with glibc's mmap threshold pinned so an earlier
peer's freed memory is not silently reused; and the structure's own bytes). Brute-force
peers answer `min(queries, max(20, 20_000_000 // size))` queries to bound the run (20 at 1M).

Data (`bench.memory.data`): 384-d unit vectors around 4,096 topic centres with Zipf-like
topic sizes, noise with a decaying spectrum and a shared direction, seed 20240601. Random
item pairs have cosine 0.09 on average (5th-95th percentile -0.19 to 0.34); a query's
nearest item has cosine about 0.65 and its 10th nearest about 0.54 at 10k items. Queries are
held-out items perturbed with more noise, never members of the set.

Run it with `uv run --group bench python -m bench.memory --help`.
"""
