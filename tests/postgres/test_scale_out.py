"""Steward past one process on PostgreSQL (SPEC §10): two API processes that run no tasks,
three `steward worker` processes, many conversations, one worker SIGKILLed while it runs a
task. Every task completes exactly once, a lane never runs two tasks at a time, the ledger
verifies, and a task's events and token deltas reach an SSE client of the API process that
did not take the message (LISTEN/NOTIFY relay).

All processes are real and share one fresh database on the PostgreSQL at 127.0.0.1:5432;
the only fake is the model, a slow streaming Core that counts its calls."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.storage.db import Database
from backend.storage.models import Task
from tests.agent.polling import send, timeline, wait_task
from tests.agent.processes import EdgeProcess, EdgeProcesses, edge_env, wait_until
from tests.fakes.slow_core import SlowCoreState, slow_core_app
from tests.ledger.rebuilt import assert_rebuilds_equal
from tests.servers import serve

LANES, PER_LANE = 8, 5


@pytest.fixture
def slow_core() -> Iterator[tuple[str, SlowCoreState]]:
    """A fake Core whose answers take ~0.4 s each, streamed in 8 chunks."""
    state = SlowCoreState(chunks=8, chunk_delay_s=0.05)
    with serve(slow_core_app(state)) as url:
        yield url, state


def _attempts(events: list[dict[str, Any]]) -> dict[str, list[tuple[int, int]]]:
    """task_id -> [(seq it started running, seq that attempt ended)] from a lane's events."""
    runs: dict[str, list[tuple[int, int]]] = {}
    open_: dict[str, int] = {}
    for e in events:
        if e["type"] != "TaskEvent":
            continue
        status, tid = e["payload"]["status"], e["task_id"]
        if status == "running" and e["payload"].get("from") == "queued":
            assert tid not in open_, f"{tid} started while already running"
            open_[tid] = e["seq"]
        elif status in ("queued", "completed", "failed", "cancelled") and tid in open_:
            runs.setdefault(tid, []).append((open_.pop(tid), e["seq"]))
    assert not open_, f"attempts never ended: {open_}"
    return runs


def _holder(db: Database, pids: Mapping[int, EdgeProcess]) -> EdgeProcess | None:
    """A worker process that holds a running task now, if any."""
    with db.read() as s:
        owners = s.scalars(select(Task.lease_owner).where(Task.status == "running")).all()
    for owner in owners:
        pid = int(str(owner).split("/")[1])
        if pid in pids:
            return pids[pid]
    return None


def _held_by(db: Database, pid: int) -> list[str]:
    """The running tasks whose lease names process `pid`."""
    with db.read() as s:
        rows = s.execute(select(Task.id, Task.lease_owner).where(Task.status == "running"))
        return [tid for tid, owner in rows if str(owner).split("/")[1] == str(pid)]


def test_three_workers_two_api_processes_one_worker_killed(
    tmp_path: Path, pg_url: str, slow_core: tuple[str, SlowCoreState]
) -> None:
    core_url, core = slow_core
    env = edge_env(tmp_path / "data", core_url, database_url=pg_url, lease_seconds=3, workers=0)
    db = Database(pg_url)
    submitted: dict[str, list[str]] = {f"lane-{n}": [] for n in range(LANES)}
    with EdgeProcesses(tmp_path) as procs, ExitStack() as stack:
        apis = [procs.new(f"api-{n}", env) for n in range(2)]
        apis[0].start()  # migrates and creates the owner; the rest start together
        workers = [procs.worker(f"worker-{n}", env, concurrency=2) for n in range(3)]
        for proc in [apis[1], *workers]:
            proc.spawn()
        for proc in [apis[1], *workers]:
            proc.wait_healthy(60)
        clients = [stack.enter_context(api.client()) for api in apis]

        for n, (i, lane) in enumerate(itertools.product(range(PER_LANE), submitted)):
            sent = send(clients[n % 2], f"message {i} of {lane}", lane)
            submitted[lane].append(sent["task_id"])

        # Hold every answer mid-stream, kill a worker that holds a task, then let go.
        core.gate = threading.Event()
        pids = {w.pid: w for w in workers}
        victims: list[EdgeProcess] = []

        def a_worker_runs_a_task() -> bool:
            holder = _holder(db, pids)
            if holder is not None:
                victims.append(holder)
            return holder is not None

        wait_until(lambda: core.active > 0, "a completion to start")
        wait_until(a_worker_runs_a_task, "a worker to run a task")
        victim = victims[-1]
        victim.kill9()
        stranded = _held_by(db, victim.pid)
        assert stranded, "the killed worker held a running task"
        core.gate.set()

        every = [tid for ids in submitted.values() for tid in ids]
        for n, tid in enumerate(every):
            task = wait_task(clients[n % 2], tid, timeout=90)
            assert task["status"] == "completed", task
        retried = 0
        for lane, ids in submitted.items():
            events = timeline(clients[0], lane)
            done = [
                e["task_id"]
                for e in events
                if e["type"] == "TaskEvent" and e["payload"]["status"] == "completed"
            ]
            assert sorted(done) == sorted(ids), f"{lane}: each task completes exactly once"
            completions = [e["task_id"] for e in events if e["type"] == "CompletionEvent"]
            assert sorted(completions) == sorted(ids), f"{lane}: one recorded answer per task"
            runs = _attempts(events)
            retried += sum(len(r) - 1 for r in runs.values())
            spans = sorted(span for r in runs.values() for span in r)
            for (start_a, end_a), (start_b, _) in itertools.pairwise(spans):
                assert end_a < start_b, f"{lane}: two tasks ran at once ({start_a}-{end_a})"
            by_start = sorted(ids, key=lambda tid: runs[tid][0][0])
            assert by_start == ids, f"{lane} did not start its tasks in submission order"
        assert retried >= len(stranded), "the killed worker's tasks ran again elsewhere"
        assert core.calls == len(every) + retried, "only interrupted answers were asked again"
        assert core.max_active > 2, "several workers ran lanes at the same time"
        verify = clients[1].get("/v1/audit/verify").json()
        assert verify["ok"] is True, verify
    try:
        assert_rebuilds_equal(db)
    finally:
        db.dispose()


def test_sse_on_one_api_process_hears_a_task_taken_by_another(
    tmp_path: Path, pg_url: str, slow_core: tuple[str, SlowCoreState]
) -> None:
    core_url, core = slow_core
    core.gate = threading.Event()  # hold the answer until the SSE client is listening
    env = edge_env(tmp_path / "data", core_url, database_url=pg_url, workers=0)
    with EdgeProcesses(tmp_path) as procs:
        taker, watcher = procs.new("api-taker", env), procs.new("api-watcher", env)
        taker.start()
        watcher.start()
        worker = procs.worker("worker", env, concurrency=1)
        worker.start(60)
        with taker.client() as a, watcher.client(timeout=60) as b:
            task_id = send(a, "stream this through the other API process")["task_id"]
            frames: list[str] = []
            with b.stream("GET", f"/v1/agent/tasks/{task_id}/events") as stream:
                assert stream.status_code == 200
                core.gate.set()
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        frames.append(line.removeprefix("event: "))
            assert frames[-1] == "TaskEvent"
            deltas = frames.count("delta")
            # The deltas exist only in the worker's memory: they came over NOTIFY.
            assert deltas >= 1, (frames, worker.log_tail(), watcher.log_tail())
            assert "CompletionEvent" in frames
            assert wait_task(b, task_id)["status"] == "completed"
            assert httpx.get(f"{watcher.base_url}/health").json()["status"] == "ok"
