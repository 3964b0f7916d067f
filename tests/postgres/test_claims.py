"""Claims racing on the real PostgreSQL: several workers (threads here, each with its own
connections) claim and finish tasks as fast as they can. Every task is claimed exactly
once, a lane never has two running, no transaction deadlocks or gives up, and the ledger
verifies. (A claim that locked its task row before the ledger head deadlocked with a
writer holding the head: PostgreSQL keeps the lock `FOR UPDATE SKIP LOCKED` takes on a row
it re-checks and rejects.)"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
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
from backend.storage.models import LedgerEvent, Task
from tests.agent.queueing import finish, owner_service

LANES, PER_LANE, WORKERS = 40, 5, 4


def test_racing_claims_take_each_task_once_without_deadlocks(pg_url: str, tmp_path: Path) -> None:
    db = Database(pg_url)
    owner, agent = owner_service(db)
    ledger, tasks = LedgerStore(), TaskStore()
    for n in range(PER_LANE):
        for lane in range(LANES):
            agent.submit(owner, f"task {n} of lane {lane}", f"lane-{lane}", None)

    settings = EdgeSettings(database_url=pg_url, data_dir=tmp_path)
    loop = asyncio.new_event_loop()
    claimed_by: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(WORKERS)

    def work(n: int) -> None:
        pool = WorkerPool(settings, db, ledger, tasks, TaskBus(loop), cast(AgentLoop, None))
        start.wait()
        try:
            while True:
                claimed = pool.claim()
                if claimed is None:
                    with db.read() as s:
                        left = s.scalar(
                            select(func.count()).where(Task.status.in_(("queued", "running")))
                        )
                    if not left:
                        return
                    continue
                claimed_by.append((claimed.task_id, n))
                finish(db, ledger, tasks, claimed)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    loop.close()
    try:
        assert not errors, errors
        counts = Counter(task_id for task_id, _ in claimed_by)
        assert len(counts) == LANES * PER_LANE
        assert set(counts.values()) == {1}, "a task was claimed twice"
        assert len({n for _, n in claimed_by}) > 1, "the claims were spread over workers"
        with db.read() as s:
            by_status = select(Task.status, func.count()).group_by(Task.status)
            statuses = {row[0]: row[1] for row in s.execute(by_status)}
            assert statuses == {"completed": LANES * PER_LANE}
            running = s.scalars(
                select(LedgerEvent.payload).where(LedgerEvent.type == "TaskEvent")
            ).all()
            assert sum('"status":"running"' in p for p in running) == LANES * PER_LANE
            assert ledger.verify(s).ok
    finally:
        db.dispose()
