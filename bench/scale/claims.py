"""Steward's own claim path, without the model: `WorkerPool.claim` (the head of a free lane,
`FOR UPDATE SKIP LOCKED` on PostgreSQL, its `TaskEvent` appended to the hash chain) and the
finishing write the agent loop makes (`completed`, with its event), in a loop per process.
Tasks are submitted beforehand through `AgentService.submit`, as the API does."""

from __future__ import annotations

import asyncio
import tempfile
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import cast

from sqlalchemy import func, select

from backend.agent.bus import TaskBus
from backend.agent.loop import AgentLoop
from backend.agent.store import TaskStore
from backend.agent.worker import WorkerPool
from backend.ledger.store import LedgerStore
from backend.settings import EdgeSettings
from backend.storage.db import Database
from backend.storage.models import Task
from bench.scale.runs import ClaimRun, run_processes
from tests.agent.queueing import finish, owner_service


def submit(url: str, lanes: int, per_lane: int) -> int:
    """Migrate a fresh database, create the owner and queue `lanes * per_lane` tasks, a
    lane's tasks in order; returns how many."""
    db = Database(url)
    try:
        owner, agent = owner_service(db)
        for n in range(per_lane):
            for lane in range(lanes):
                agent.submit(owner, f"task {n} of lane {lane}", f"lane-{lane:04d}", None)
        return lanes * per_lane
    finally:
        db.dispose()


def _unfinished(db: Database) -> int:
    with db.read() as s:
        query = select(func.count()).where(Task.status.in_(("queued", "running")))
        return int(s.scalar(query) or 0)


def _worker(url: str, name: str, barrier: Barrier) -> tuple[list[float], int]:
    db = Database(url)
    ledger, tasks = LedgerStore(), TaskStore()
    settings = EdgeSettings(database_url=url, data_dir=Path(tempfile.gettempdir()))
    loop = asyncio.new_event_loop()
    # Only `claim` is used: no bus notifications, no agent loop.
    pool = WorkerPool(settings, db, ledger, tasks, TaskBus(loop), cast(AgentLoop, None))
    latencies: list[float] = []
    with db.read() as s:  # connect before the clock starts
        s.execute(select(1))
    barrier.wait()
    while True:
        started = time.perf_counter()
        claimed = pool.claim()
        if claimed is None:
            if not _unfinished(db):
                break
            time.sleep(0.001)  # every free lane's head is held by another process
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        finish(db, ledger, tasks, claimed)
    db.dispose()
    loop.close()
    return latencies, len(latencies)


def run(url: str, processes: int) -> ClaimRun:
    """Claim and finish every queued task of `url` with `processes` processes."""
    return run_processes(_worker, url, processes)
