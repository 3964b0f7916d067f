"""Workers: claim tasks from the database, run them, keep their leases alive, and put back
the tasks of workers that died.

Workers run in the API process (`STEWARD_WORKERS`, default 4) and, on PostgreSQL, in as many
`steward worker` processes beside it as wanted; they coordinate only through the database.

Invariants:
- Claiming is one write transaction: pick the head of a free lane, mark it `running` with
  this process's lease, record the state change. The partial unique index on busy lanes makes
  a second claim of the same lane fail even if two processes race.
- A lease is renewed every third of its length while the task runs. A task whose lease
  expired, or whose lease owner is a process on this host that no longer exists, goes back
  to the head of its lane (or fails, after `max_attempts` runs).
- A database that refuses writes (disk full, or its lock held by another process) fails
  nothing and stops nothing: claims back off, and a running task keeps its lease and
  continues the same attempt from its last recorded step once a write goes through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError, OperationalError

from backend.agent.bus import TaskBus
from backend.agent.loop import AgentLoop, Claimed
from backend.agent.store import TaskStore
from backend.clock import now, rfc3339
from backend.errors import StorageUnavailable
from backend.ledger.events import EventType, NewEvent
from backend.ledger.store import LedgerStore
from backend.process_identity import is_dead, new_owner_id
from backend.settings import EdgeSettings
from backend.storage.db import Database
from backend.storage.models import Task

log = logging.getLogger("steward.edge.worker")
# Waits between tries while the database refuses writes: doubling, up to the cap.
_BACKOFF_FIRST_S, _BACKOFF_CAP_S = 0.05, 2.0


async def _back_off(delay: float) -> float:
    """Wait `delay`; return the next wait."""
    await asyncio.sleep(delay)
    return min(delay * 2, _BACKOFF_CAP_S)


class WorkerPool:
    """`settings.workers` concurrent task runners and one lease keeper, in this process."""

    def __init__(
        self,
        settings: EdgeSettings,
        db: Database,
        ledger: LedgerStore,
        tasks: TaskStore,
        bus: TaskBus,
        agent: AgentLoop,
    ):
        self.settings = settings
        self.db = db
        self.ledger = ledger
        self.tasks = tasks
        self.bus = bus
        self.agent = agent
        self.owner = new_owner_id()
        self.running: set[str] = set()
        self._loops: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Put back tasks orphaned by dead processes, then start the runners."""
        await asyncio.to_thread(self.sweep)
        self._loops = [
            asyncio.create_task(self._runner(), name=f"steward-worker-{i}")
            for i in range(self.settings.workers)
        ]
        self._loops.append(asyncio.create_task(self._keeper(), name="steward-lease-keeper"))
        self.bus.work_available.set()

    async def stop(self) -> None:
        """Stop the runners; tasks they held are picked up again after a restart."""
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        self._loops.clear()

    # --- runners --------------------------------------------------------------------------

    async def _runner(self) -> None:
        delay = _BACKOFF_FIRST_S
        while True:
            self.bus.work_available.clear()
            try:
                claimed = await asyncio.to_thread(self.claim)
            except StorageUnavailable as exc:
                log.warning("cannot claim a task (%s); trying again in %.2fs", exc.code, delay)
                delay = await _back_off(delay)
                continue
            except (IntegrityError, OperationalError) as exc:
                log.info("claim raced another worker (%s); trying again", type(exc).__name__)
                continue
            delay = _BACKOFF_FIRST_S
            if claimed is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self.bus.work_available.wait(), self.settings.poll_interval_s
                    )
                continue
            self.running.add(claimed.task_id)
            try:
                await self._run(claimed)
            finally:
                self.running.discard(claimed.task_id)
                self.bus.work_available.set()

    async def _run(self, claimed: Claimed) -> None:
        """Run `claimed` to its end. If the database refuses a write meanwhile, the task
        stays running under this lease: wait for a write to go through, then continue it."""
        while True:
            try:
                await self.agent.run(claimed)
                return
            except StorageUnavailable as exc:
                log.warning("task %s paused: %s", claimed.task_id, exc.detail)
            except Exception:
                # The lease lapses and a sweep puts the task back (`_orphaned`).
                log.exception("task %s: the agent loop failed", claimed.task_id)
                return
            if not await self._until_writable(claimed.task_id):
                log.warning(
                    "task %s: lease lost while the database was unavailable", claimed.task_id
                )
                return

    async def _until_writable(self, task_id: str) -> bool:
        """Wait until this worker can renew `task_id`'s lease; whether it still holds it."""
        delay = _BACKOFF_FIRST_S
        while True:
            delay = await _back_off(delay)
            try:
                held, _ = await asyncio.to_thread(self._renew, [task_id])
            except StorageUnavailable:
                continue
            return bool(held)

    def claim(self) -> Claimed | None:
        """Take the next free lane's head task, if any. The claim is a write transaction
        like any other (it appends the `running` event to the one hash chain, so it holds
        the chain head first, as every writer does: taking a task row before the head
        could deadlock with a writer holding the head). On PostgreSQL the pick still skips
        rows locked elsewhere (`FOR UPDATE SKIP LOCKED`) rather than waiting on them."""
        with self.db.write() as s:
            current = now()
            task = self.tasks.next_claimable(s, rfc3339(current))
            if task is None:
                return None
            attempt = task.attempts + 1
            stamp = rfc3339(current)
            until = rfc3339(current + timedelta(seconds=self.settings.lease_seconds))
            self.tasks.transition(task, "running", lease_owner=self.owner, lease_expires_at=until)
            self.ledger.append(
                s,
                NewEvent(
                    EventType.TASK,
                    {"status": "running", "from": "queued", "attempt": attempt, "at": stamp},
                    conversation_id=task.conversation_id,
                    task_id=task.id,
                    causation_id=self.ledger.last_event_id(s, task.id),
                ),
            )
            return Claimed(
                task.id,
                task.conversation_id,
                task.user_id,
                task.input_text,
                task.queue_seq,
                attempt,
                self.owner,
            )

    # --- leases ---------------------------------------------------------------------------

    async def _keeper(self) -> None:
        interval = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                _, cancelled = await asyncio.to_thread(self._renew, list(self.running))
                for task_id in cancelled:
                    self.bus.request_cancel(task_id)
                await asyncio.to_thread(self.sweep)
            except StorageUnavailable as exc:
                log.warning("lease keeper: %s; retrying next round", exc.code)
            except Exception:
                log.exception("lease keeper: this round failed; retrying next round")

    def _renew(self, ids: list[str]) -> tuple[list[str], list[str]]:
        """Extend the leases of `ids`: the ones still held, and the ones asked to cancel."""
        until = rfc3339(now() + timedelta(seconds=self.settings.lease_seconds))
        with self.db.write(serial=False) as s:
            held = self.tasks.renew_leases(s, self.owner, ids, until)
            return held, self.tasks.cancel_requested(s, ids)

    def _orphaned(self, task: Task, stamp: str) -> bool:
        if task.lease_expires_at is None or task.lease_expires_at < stamp:
            return True
        return is_dead(task.lease_owner, ours=self.owner)

    def sweep(self) -> int:
        """Requeue (or fail) running tasks whose worker is gone. Returns how many."""
        stamp = rfc3339(now())
        moved = 0
        with self.db.write() as s:
            for task in self.tasks.running_leases(s):
                if task.id in self.running or not self._orphaned(task, stamp):
                    continue
                moved += 1
                if task.attempts >= self.settings.max_attempts:
                    why = f"its worker stopped {task.attempts} times; giving up"
                    error = {"code": "worker_lost", "message": why}
                    self.tasks.transition(task, "failed", lease_owner=None, lease_expires_at=None)
                    payload = {
                        "status": "failed",
                        "from": "running",
                        "reason": why,
                        "error": error,
                        "at": stamp,
                    }
                else:
                    self.tasks.transition(task, "queued", lease_owner=None, lease_expires_at=None)
                    why = "its worker stopped before finishing; it runs again from its last step"
                    payload = {
                        "status": "queued",
                        "from": "running",
                        "phase": "recovered",
                        "reason": why,
                    }
                self.ledger.append(
                    s,
                    NewEvent(
                        EventType.TASK,
                        payload,
                        conversation_id=task.conversation_id,
                        task_id=task.id,
                        causation_id=self.ledger.last_event_id(s, task.id),
                    ),
                )
        if moved:
            log.warning("put back %d task(s) whose worker had stopped", moved)
            self.bus.wake_workers()
        return moved
