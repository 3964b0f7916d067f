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
from backend.agent.loop import AgentLoop, Claimed
from backend.agent.service import AgentService
from backend.agent.store import TaskStore
from backend.agent.worker import WorkerPool
from backend.auth.store import UserStore
from backend.clock import now_text
from backend.ledger.events import EventType, NewEvent
from backend.ledger.store import LedgerStore
from backend.settings import EdgeSettings
from backend.storage.db import Database
from backend.storage.models import Task
from bench.scale.runs import ClaimRun, run_processes

OWNER_TOKEN = "stw_bench-owner-token-0000000000000000000"


def submit(url: str, lanes: int, per_lane: int) -> int:
    """Migrate a fresh database, create the owner and queue `lanes * per_lane` tasks, a
    lane's tasks in order; returns how many."""
    db = Database(url)
    try:
        db.migrate()
        ledger = LedgerStore()
        users = UserStore(ledger)
        with db.write() as s:
            users.ensure_owner(s, OWNER_TOKEN)
        with db.read() as s:
            owner = users.resolve(s, OWNER_TOKEN)
        assert owner is not None
        agent = AgentService(db, ledger, TaskStore())
        for n in range(per_lane):
            for lane in range(lanes):
                agent.submit(owner, f"task {n} of lane {lane}", f"lane-{lane:04d}", None)
        return lanes * per_lane
    finally:
        db.dispose()


def _finish(db: Database, ledger: LedgerStore, tasks: TaskStore, claimed: Claimed) -> None:
    with db.write() as s:
        task = tasks.get(s, claimed.task_id)
        assert task is not None
        tasks.transition(task, "completed", lease_owner=None, lease_expires_at=None)
        ledger.append(
            s,
            NewEvent(
                EventType.TASK,
                {"status": "completed", "from": "running", "at": now_text()},
                conversation_id=claimed.conversation_id,
                task_id=claimed.task_id,
                causation_id=ledger.last_event_id(s, claimed.task_id),
            ),
        )


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
        _finish(db, ledger, tasks, claimed)
    db.dispose()
    loop.close()
    return latencies, len(latencies)


def run(url: str, processes: int) -> ClaimRun:
    """Claim and finish every queued task of `url` with `processes` processes."""
    return run_processes(_worker, url, processes)
