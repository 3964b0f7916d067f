"""Steward on PostgreSQL with several workers, against SQLite in one process and against a
raw `FOR UPDATE SKIP LOCKED` claim loop on the same server, in one run.

Run: `uv run --no-sync python -m bench.scale [--tasks 1200] [--processes 1,2,4]`
(needs the PostgreSQL at 127.0.0.1:5432, trust auth; each measurement gets a fresh
database, dropped afterwards). Prints a Markdown report for docs/BENCHMARKS.md.

Three measurements:
1. The floor (`bench.scale.floor`): a bare job table, claim + mark done, per process count.
2. Steward's claim path without the model (`bench.scale.claims`): `WorkerPool.claim` and
   the completing write, on PostgreSQL per process count and on SQLite in one process.
3. Whole tasks (`bench.scale.workers`): `steward worker` processes of 4 lanes each with Core
   on its mock backend, on PostgreSQL per worker count and on SQLite with one worker; once
   with instant answers (what Edge itself costs) and once with answers that take about
   1 s (`--model-delay`, the mock's pause per streamed piece), where time goes to the
   model as it does with a real one.
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


def _worker_rows(runs: list[tuple[str, WorkerRun]]) -> list[str]:
    rows = [
        "| one model answer | database | worker processes (4 lanes each) | tasks measured "
        "| tasks/s |",
        "|---|---|---:|---:|---:|",
    ]
    for model, r in runs:
        rows.append(f"| {model} | {r.label} | {r.workers} | {r.done} | {r.per_second:,.1f} |")
    return rows


def _whole_tasks(delay_s: float, counts: list[int], lanes: int) -> list[tuple[str, WorkerRun]]:
    """Whole tasks with 4 per lane through each worker count on PostgreSQL and one worker
    on SQLite, with Core's mock answering after `delay_s` per streamed piece."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        core = Core(free_port(), tmp / "core.log", delay_s)
        try:
            model = f"{core.answer_seconds():.2f} s"
            for n in counts:
                with fresh_database() as url:
                    _say(f"whole tasks ({model} answers): {n} worker(s) on PostgreSQL ...")
                    runs.append((model, workers.run("PostgreSQL", url, n, core, tmp, lanes, 4)))
            _say(f"whole tasks ({model} answers): 1 worker on SQLite ...")
            url = f"sqlite:///{tmp}/edge-e2e.db"
            runs.append((model, workers.run("SQLite", url, 1, core, tmp, lanes, 4)))
        finally:
            core.stop()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--tasks", type=int, default=1200, help="tasks (jobs) per run")
    parser.add_argument("--processes", default="1,2,4", help="process counts to measure")
    parser.add_argument(
        "--model-delay", type=float, default=0.02, help="second series: mock pause per piece"
    )
    parser.add_argument("--slow-tasks", type=int, default=160, help="tasks of that series")
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

    worker_runs: list[tuple[str, WorkerRun]] = []
    for delay, tasks in ((0.0, args.tasks), (args.model_delay, args.slow_tasks)):
        worker_runs += _whole_tasks(delay, counts, tasks // 4)
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
