"""The floor: the plainest PostgreSQL job queue there is. One table, a partial index on the
queued rows, and each process looping `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP
LOCKED LIMIT 1) RETURNING id` (the claim, one round trip in autocommit) then an `UPDATE` to
mark it done. No lanes, no ledger, no state machine: what any queue on this server costs at
least."""

from __future__ import annotations

import time
from multiprocessing.synchronize import Barrier

import psycopg

from bench.scale.runs import ClaimRun, run_processes

_CLAIM = (
    "UPDATE bench_jobs SET status = 'running', owner = %s WHERE id = ("
    "SELECT id FROM bench_jobs WHERE status = 'queued' ORDER BY id "
    "FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id"
)


def prepare(url: str, jobs: int) -> None:
    """A fresh `bench_jobs` table holding `jobs` queued rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_jobs")
        conn.execute(
            "CREATE TABLE bench_jobs (id bigserial PRIMARY KEY, status text NOT NULL, "
            "owner text, payload text NOT NULL)"
        )
        conn.execute("CREATE INDEX bench_jobs_queued ON bench_jobs (id) WHERE status = 'queued'")
        conn.execute(
            "INSERT INTO bench_jobs (status, payload) "
            "SELECT 'queued', 'job ' || n FROM generate_series(1, %s) AS n",
            (jobs,),
        )
        conn.execute("VACUUM ANALYZE bench_jobs")


def _worker(url: str, name: str, barrier: Barrier) -> tuple[list[float], int]:
    latencies: list[float] = []
    with psycopg.connect(url, autocommit=True) as conn:
        barrier.wait()
        while True:
            started = time.perf_counter()
            row = conn.execute(_CLAIM, (name,)).fetchone()
            latencies.append((time.perf_counter() - started) * 1000)
            if row is None:
                latencies.pop()
                return latencies, len(latencies)
            conn.execute("UPDATE bench_jobs SET status = 'done' WHERE id = %s", row)


def run(url: str, jobs: int, processes: int) -> ClaimRun:
    """Claim and finish `jobs` jobs with `processes` processes."""
    prepare(url, jobs)
    return run_processes(_worker, url, processes)
