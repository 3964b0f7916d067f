"""Steward on PostgreSQL with several workers, against SQLite in one process and against a
raw `FOR UPDATE SKIP LOCKED` claim loop on the same server, in one run.

Run: `uv run --no-sync python -m bench.scale [--tasks 2000] [--processes 1,2,4]`
(needs the PostgreSQL at 127.0.0.1:5432, trust auth; each measurement gets a fresh
database, dropped afterwards). Prints a Markdown report for docs/BENCHMARKS.md.

Three measurements:
1. The floor (`bench.scale.floor`): a bare job table, claim + mark done, per process count.
2. Steward's claim path without the model (`bench.scale.claims`): `WorkerPool.claim` and
   the completing write, on PostgreSQL per process count and on SQLite in one process.
3. Whole tasks (`bench.scale.workers`): `steward worker` processes of 4 lanes each with Core
   on its mock backend, on PostgreSQL per worker count and on SQLite with one worker.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.scale import claims, floor, workers
from bench.scale.runs import ClaimRun
from bench.scale.workers import Core, WorkerRun
from tests.servers import free_port

SERVER = "postgresql://postgres@127.0.0.1:5432"
# Published by PgQueuer (https://janbjorge.github.io/pgqueuer/comparisons/benchmarks/): its
# own benchmark tool, 5 dequeue tasks with batches of 10, on its authors' machine.
PGQUEUER = "PgQueuer's published figures: 8.35k jobs/s with psycopg, 14.1k jobs/s with asyncpg"


def _say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new empty database on the server, dropped on the way out."""
    name = f"steward_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _claim_rows(runs: list[tuple[str, ClaimRun]]) -> list[str]:
    rows = [
        "| what | processes | items | claims+finishes/s | claim p50 | claim p99 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, r in runs:
        rows.append(
            f"| {label} | {r.processes} | {r.done} | {r.per_second:,.0f} | "
            f"{r.percentile(50):.2f} ms | {r.percentile(99):.2f} ms |"
        )
    return rows


def _worker_rows(runs: list[WorkerRun]) -> list[str]:
    rows = [
        "| database | worker processes (4 lanes each) | tasks measured | tasks/s |",
        "|---|---:|---:|---:|",
    ]
    for r in runs:
        rows.append(f"| {r.label} | {r.workers} | {r.done} | {r.per_second:,.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--tasks", type=int, default=2000, help="tasks (jobs) per run")
    parser.add_argument("--processes", default="1,2,4", help="process counts to measure")
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]
    lanes, per_lane = args.tasks // 4, 4

    claim_runs: list[tuple[str, ClaimRun]] = []
    for n in counts:
        with fresh_database() as url:
            _say(f"floor: raw SKIP LOCKED loop, {n} process(es), {args.tasks} jobs ...")
            claim_runs.append(("raw SKIP LOCKED loop (floor)", floor.run(url, args.tasks, n)))
    for n in counts:
        with fresh_database() as url:
            _say(f"Steward claim path on PostgreSQL, {n} process(es): queueing ...")
            claims.submit(url, lanes, per_lane)
            _say("  claiming ...")
            claim_runs.append(("Steward claim + finish, PostgreSQL", claims.run(url, n)))
    with tempfile.TemporaryDirectory() as sqlite_dir:
        url = f"sqlite:///{sqlite_dir}/edge.db"
        _say("Steward claim path on SQLite, 1 process: queueing ...")
        claims.submit(url, lanes, per_lane)
        _say("  claiming ...")
        claim_runs.append(("Steward claim + finish, SQLite", claims.run(url, 1)))

    worker_runs: list[WorkerRun] = []
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        core = Core(free_port(), tmp / "core.log")
        try:
            for n in counts:
                with fresh_database() as url:
                    _say(f"whole tasks: {n} worker process(es) on PostgreSQL ...")
                    worker_runs.append(
                        workers.run("PostgreSQL", url, n, core, tmp, lanes, per_lane)
                    )
            _say("whole tasks: 1 worker process on SQLite ...")
            url = f"sqlite:///{tmp}/edge-e2e.db"
            worker_runs.append(workers.run("SQLite", url, 1, core, tmp, lanes, per_lane))
        finally:
            core.stop()

    _say("")
    _say(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; PostgreSQL at {SERVER}, default settings."
    )
    _say("")
    for row in _claim_rows(claim_runs):
        _say(row)
    _say("")
    for row in _worker_rows(worker_runs):
        _say(row)
    _say("")
    _say(f"For reference, {PGQUEUER}.")


if __name__ == "__main__":
    main()
