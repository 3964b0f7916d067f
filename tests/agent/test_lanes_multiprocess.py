"""Lanes across processes (SPEC §3): several Edge processes on one SQLite file run every task
exactly once, one task per lane at a time, FIFO within a lane, lanes concurrently; the
database itself refuses a second busy task in a lane.

The servers are real subprocesses sharing `STEWARD_DATA_DIR`; the only fake is the model, a
slow streaming Core that counts how many completions run at once."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from backend.storage.models import LedgerEvent, Task, User
from tests.agent.polling import send, timeline, wait_task
from tests.agent.processes import EdgeProcesses, edge_env
from tests.agent.queueing import owner_service
from tests.fakes.slow_core import SlowCoreState, slow_core_app
from tests.servers import free_port, serve

WORKERS_PER_PROCESS = 2


@pytest.fixture
def slow_core() -> Iterator[tuple[str, SlowCoreState]]:
    """A fake Core whose answers take ~0.4 s each, streamed in 8 chunks."""
    state = SlowCoreState(chunks=8, chunk_delay_s=0.05)
    with serve(slow_core_app(state)) as url:
        yield url, state


def _database(data_dir: Path) -> Database:
    return Database(f"sqlite:///{(data_dir / 'edge.db').resolve()}")


def test_three_processes_start_together_on_a_fresh_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = edge_env(data_dir, f"http://127.0.0.1:{free_port()}", workers=WORKERS_PER_PROCESS)
    with EdgeProcesses(tmp_path) as edges:
        procs = [edges.new(f"edge-{n}", env) for n in range(3)]
        for proc in procs:  # all at once: each migrates and ensures the owner
            proc.spawn()
        for proc in procs:
            proc.wait_healthy()
        for proc in procs:
            with proc.client() as client:
                assert client.get("/v1/agent/tasks").status_code == 200
        db = _database(data_dir)
        try:
            with db.read() as s:
                assert s.scalar(select(func.count()).select_from(User)) == 1
                created = s.scalar(select(func.count()).where(LedgerEvent.type == "UserEvent"))
                assert created == 1
                assert LedgerStore().verify(s).ok
        finally:
            db.dispose()


def _lane_runs(events: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """task_id -> (seq it started running, seq it completed), checking each ran once."""
    runs: dict[str, tuple[int, int]] = {}
    started: dict[str, int] = {}
    for e in events:
        if e["type"] != "TaskEvent":
            continue
        status, tid = e["payload"]["status"], e["task_id"]
        if status == "running":
            assert tid not in started, f"{tid} started twice"
            started[tid] = e["seq"]
        elif status == "completed":
            assert tid not in runs, f"{tid} completed twice"
            runs[tid] = (started[tid], e["seq"])
    return runs


def test_lanes_hold_across_three_processes_on_one_sqlite_file(
    tmp_path: Path, slow_core: tuple[str, SlowCoreState]
) -> None:
    core_url, core = slow_core
    env = edge_env(tmp_path / "data", core_url, workers=WORKERS_PER_PROCESS)
    lanes = [f"lane-{n}" for n in range(4)]
    submitted: dict[str, list[str]] = {lane: [] for lane in lanes}
    with EdgeProcesses(tmp_path) as edges, ExitStack() as stack:
        procs = [edges.new(f"edge-{n}", env) for n in range(3)]
        procs[0].start()
        for proc in procs[1:]:
            proc.spawn()
        for proc in procs[1:]:
            proc.wait_healthy()
        clients: list[httpx.Client] = [stack.enter_context(p.client()) for p in procs]

        n = 0
        for i in range(6):
            for lane in lanes:
                sent = send(clients[n % 3], f"message {i} of {lane}", lane)
                submitted[lane].append(sent["task_id"])
                n += 1

        for ids in submitted.values():
            for k, tid in enumerate(ids):
                task = wait_task(clients[k % 3], tid, timeout=25)
                assert task["status"] == "completed", task
                assert task["attempts"] == 1, task
        assert core.calls == 24, "every task asked the model exactly once"

        for lane, ids in submitted.items():
            events = timeline(clients[0], lane)
            completions = [e["task_id"] for e in events if e["type"] == "CompletionEvent"]
            assert sorted(completions) == sorted(ids), f"{lane}: each task completes once"
            runs = _lane_runs(events)
            by_start = sorted(runs, key=lambda tid: runs[tid][0])
            assert by_start == ids, f"{lane} did not run in submission order"
            for before, after in itertools.pairwise(by_start):
                assert runs[before][1] < runs[after][0], (
                    f"{lane}: {after} started (seq {runs[after][0]}) before {before} "
                    f"finished (seq {runs[before][1]})"
                )
        # One process has only WORKERS_PER_PROCESS workers: more at once means several did work.
        assert core.max_active > WORKERS_PER_PROCESS, (
            f"at most {core.max_active} completions ran at once; lanes should run concurrently "
            "across processes"
        )
        verify = clients[1].get("/v1/audit/verify").json()
        assert verify["ok"] is True, verify


def test_database_refuses_a_second_busy_task_in_one_lane(tmp_path: Path) -> None:
    db = _database(tmp_path)
    owner, agent = owner_service(db)
    a1, a2, b1 = (
        agent.submit(owner, text, lane, None)[0]["task_id"]
        for text, lane in (("a1", "lane-a"), ("a2", "lane-a"), ("b1", "lane-b"))
    )

    def set_status(task_id: str, status: str) -> None:
        # Straight SQL, past the state machine: only the database stands in the way.
        with db.write() as s:
            s.execute(update(Task).where(Task.id == task_id).values(status=status))

    try:
        set_status(a1, "running")
        for busy in ("running", "waiting_approval"):
            with pytest.raises(IntegrityError, match="UNIQUE"):
                set_status(a2, busy)
        set_status(b1, "running")  # another lane is free to run at the same time
        set_status(a1, "waiting_approval")
        with pytest.raises(IntegrityError):
            set_status(a2, "running")
        set_status(a1, "completed")
        set_status(a2, "running")  # the lane is free again
        with db.read() as s:
            statuses = dict(s.execute(select(Task.id, Task.status)).all())
        assert statuses == {a1: "completed", a2: "running", b1: "running"}
    finally:
        db.dispose()
