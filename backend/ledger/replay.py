"""Replay a finished task: run Edge's real agent loop and tool policy again, against the
task's recorded model outputs and tool results, and compare the events it records with the
recorded ones.

Invariants:
- The live database (SQLite or PostgreSQL) is only read: one snapshot for the task's
  events, the tool registry table and a copy of every table in a SQLite file in a temporary
  directory (`backend.storage.snapshot.copy_to_sqlite`). Everything the replay writes goes into that
  scratch copy, which is discarded.
- No model is called and no tool runs (`replay_recorded`): the loop, the policy, approvals
  and the ledger writes are the real code, so what they decide is what is checked.
- In the copy the task is rewound to just after it was queued: its later events, tool
  calls, approvals, assistant messages and memory writes are removed, and so are config
  revisions committed after its first run started, so the loop runs under the config it ran
  under. Its recorded recall (`MemoryEvent` `recalled`/`recall_skipped`) is kept: recalled
  memories are a recorded input like model outputs, and the loop reuses a recorded recall.
- Other unfinished tasks are set aside (cancelled in the copy) so the real claim can only
  pick this one. The copy's hash chain is not evidence of anything; its head is only moved
  to the last remaining event so appends work.
- Each approval is decided as recorded (same decider and reason) through the real
  `ToolService.approve`/`reject`, or expired through the real expiry. A task cancelled
  while queued or waiting is cancelled again as recorded, through the real
  `AgentService.cancel`.
  Any other approval with no recorded decision ends the replay, which has then diverged.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from backend.agent.bus import TaskBus
from backend.agent.loop import AgentLoop
from backend.agent.service import AgentService
from backend.agent.store import TERMINAL, TaskStore
from backend.agent.worker import WorkerPool
from backend.auth.principal import Principal
from backend.config.service import ConfigService
from backend.ledger.events import EventType, StoredEvent
from backend.ledger.replay_compare import Mismatch, compared, first_mismatch
from backend.ledger.replay_recorded import Recorded, RecordedCore, recorded_registry
from backend.ledger.store import LedgerStore
from backend.memory.embeddings import EmbeddingClient
from backend.memory.search import MemorySearch
from backend.memory.service import MemoryService
from backend.memory.vectors import MemoryVectors
from backend.settings import EdgeSettings
from backend.storage.db import Database
from backend.storage.models import Approval, Task, ToolRecord, User
from backend.storage.snapshot import copy_to_sqlite
from backend.tools.service import ToolService

__all__ = ["ReplayError", "ReplayReport", "replay"]

_RECALL = ("recalled", "recall_skipped")
_PAST = "1970-01-01T00:00:00Z"


class ReplayError(Exception):
    """The task cannot be replayed (unknown or not finished)."""


@dataclass(slots=True)
class ReplayReport:
    """What a replay found. `steps` lists the replayed events, one line each."""

    task_id: str
    status: str
    reproduced: bool
    compared: int
    first_difference: Mismatch | None = None
    steps: list[str] = field(default_factory=list)
    divergences: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Live:
    status: str
    events: list[StoredEvent]
    tools: list[dict[str, Any]]


async def replay(live: Database, task_id: str) -> ReplayReport:
    """Replay `task_id` from `live` in a scratch copy and compare its events."""
    with tempfile.TemporaryDirectory(prefix="steward-replay-") as tmp:
        path = Path(tmp) / "replay.db"
        found = await asyncio.to_thread(_snapshot, live, task_id, path)
        recorded = Recorded.read(found.events)
        await asyncio.to_thread(_rewind, path, task_id, found.events)
        scratch = Database(f"sqlite:///{path}")
        try:
            replayed = await _drive(scratch, Path(tmp), task_id, recorded, found.tools)
        finally:
            scratch.dispose()
    mine = compared(_after_queued(found.events))
    theirs = compared(_after_queued(replayed))
    mismatch = first_mismatch(mine, theirs)
    return ReplayReport(
        task_id=task_id,
        status=found.status,
        reproduced=mismatch is None,
        compared=len(mine),
        first_difference=mismatch,
        steps=[_step(e) for e in theirs],
        divergences=recorded.divergences,
    )


def _snapshot(live: Database, task_id: str, path: Path) -> _Live:
    """Read the task and copy the live database to `path`, both from one snapshot."""
    with live.read() as s:
        task = s.get(Task, task_id)
        if task is None:
            raise ReplayError(f"there is no task '{task_id}'")
        if task.status not in TERMINAL:
            raise ReplayError(f"task '{task_id}' is {task.status}; only a finished task replays")
        events = LedgerStore().for_task(s, task_id, limit=1_000_000)
        tools = [
            {c: getattr(r, c) for c in ("name", "risk", "description", "schema", "source")}
            for r in s.scalars(select(ToolRecord))
        ]
        copy_to_sqlite(s, path)
    return _Live(task.status, events, tools)


def _after_queued(events: list[StoredEvent]) -> list[StoredEvent]:
    for i, e in enumerate(events):
        if e.type == EventType.TASK and e.payload.get("status") == "queued":
            return events[i + 1 :]
    return events


def _first_seq(events: list[StoredEvent], status: str) -> int | None:
    return next(
        (e.seq for e in events if e.type == EventType.TASK and e.payload.get("status") == status),
        None,
    )


def _rewind(path: Path, task_id: str, events: list[StoredEvent]) -> None:
    """Put the task back to just after it was queued, in the scratch copy only."""
    queued = _first_seq(events, "queued") or 0
    started = _first_seq(events, "running") or queued
    keep = [
        e.seq for e in events if e.type == EventType.MEMORY and e.payload.get("phase") in _RECALL
    ]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        # Revisions committed (or rolled back to) after the first run began are removed;
        # `config_revisions.seq` is its own counter, so the ledger's seq decides "after".
        patches = conn.execute(
            "SELECT payload FROM ledger_events WHERE seq > ? AND type = ?",
            (started, str(EventType.PATCH)),
        ).fetchall()
        later = [json.loads(p).get("revision_id") for (p,) in patches]
        # The copy is scratch: the append-only triggers guard the live ledger, not this one.
        conn.execute("DROP TRIGGER IF EXISTS ledger_events_no_update")
        conn.execute("DROP TRIGGER IF EXISTS ledger_events_no_delete")
        kept = f" AND seq NOT IN ({', '.join('?' for _ in keep)})" if keep else ""
        conn.execute(
            f"DELETE FROM ledger_events WHERE task_id = ? AND seq > ?{kept}",  # noqa: S608
            (task_id, queued, *keep),
        )
        conn.execute(
            "UPDATE ledger_head SET (seq, hash) = "
            "(SELECT seq, hash FROM ledger_events ORDER BY seq DESC LIMIT 1) WHERE id = 1"
        )
        for table in ("approvals", "tool_calls", "memory_candidates", "memory_items"):
            conn.execute(f"DELETE FROM {table} WHERE task_id = ?", (task_id,))  # noqa: S608
        conn.execute("DELETE FROM messages WHERE task_id = ? AND role = 'assistant'", (task_id,))
        conn.executemany("DELETE FROM config_revisions WHERE id = ?", [(r,) for r in later if r])
        conn.execute(
            "UPDATE tasks SET status = 'cancelled' WHERE id != ? "
            "AND status IN ('queued', 'running', 'waiting_approval')",
            (task_id,),
        )
        conn.execute(
            "UPDATE tasks SET status = 'queued', attempts = 0, reply = NULL, error = NULL, "
            "started_at = NULL, finished_at = NULL, config_revision = NULL, lease_owner = NULL, "
            "lease_expires_at = NULL, cancel_requested = 0 WHERE id = ?",
            (task_id,),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


async def _drive(
    db: Database, data_dir: Path, task_id: str, recorded: Recorded, tool_rows: list[dict[str, Any]]
) -> list[StoredEvent]:
    """Wire Edge's services on the copy as `create_app` does and run the task to its end."""
    route = recorded.route
    settings = EdgeSettings(
        data_dir=data_dir,
        database_url=None,
        workers=0,
        model=str(route.get("requested_model") or "default"),
        core_base_url=str(route.get("core") or "http://127.0.0.1:9000"),
        webhook_url=None,
        mcp_servers=[],
    )
    ledger, tasks = LedgerStore(), TaskStore()
    bus = TaskBus(asyncio.get_running_loop())
    db.on_commit(bus.events_committed)
    core = RecordedCore(recorded)
    config = ConfigService(db, ledger)
    embeddings = EmbeddingClient(db, core, settings.embedding_model)
    memory = MemoryService(db, ledger, config, MemorySearch(db, embeddings, MemoryVectors(db)))
    registry = recorded_registry(tool_rows, recorded)
    tools = ToolService(settings, db, ledger, registry, tasks, memory)
    fallback = RecordedCore(recorded, fallback=True) if recorded.fell_back else None
    agent = AgentLoop(settings, db, ledger, tasks, core, bus, tools, config, memory, fallback)
    pool = WorkerPool(settings, db, ledger, tasks, bus, agent)
    await asyncio.to_thread(_cancel_if, "queued", db, task_id, recorded)
    # Each run ends the task, waits for approval or puts it back (a failed attempt).
    for _ in range(settings.max_attempts + len(recorded.decisions) + 2):
        claimed = await asyncio.to_thread(pool.claim)
        if claimed is None or claimed.task_id != task_id:
            break
        await agent.run(claimed)
        status = await asyncio.to_thread(_status, db, task_id)
        if status in TERMINAL:
            break
        if status == "waiting_approval" and not await _decide(db, tools, task_id, recorded):
            await asyncio.to_thread(_cancel_if, "waiting_approval", db, task_id, recorded)
            break
    with db.read() as s:
        return ledger.for_task(s, task_id, limit=1_000_000)


def _status(db: Database, task_id: str) -> str:
    with db.read() as s:
        task = s.get(Task, task_id)
        return task.status if task is not None else "missing"


async def _decide(db: Database, tools: ToolService, task_id: str, recorded: Recorded) -> bool:
    """Decide each pending approval of the task as recorded; False if one has no record."""
    with db.read() as s:
        pending = list(
            s.scalars(
                select(Approval).where(Approval.task_id == task_id, Approval.status == "pending")
            )
        )
        users = {u.id: Principal(u.id, u.name, u.role) for u in s.scalars(select(User))}
    for approval in pending:
        decided = recorded.decisions.get(approval.tool_call_id)
        if decided is None:
            if recorded.cancelled is None:
                recorded.divergences.append(
                    f"replay diverged: tool call {approval.tool_call_id} awaits an approval "
                    "that was never requested or decided in the recording"
                )
            return False
        if decided.phase == "expired":
            await asyncio.to_thread(_expire_now, db, approval.id)
            await asyncio.to_thread(tools.expire_due)
            continue
        who = users.get(decided.decided_by or "")
        if who is None:
            recorded.divergences.append(f"the decider of {approval.tool_call_id} is unknown")
            return False
        if decided.phase == "approved":
            await tools.approve(who, approval.id, decided.reason)
        else:
            await asyncio.to_thread(tools.reject, who, approval.id, decided.reason)
    return True


def _cancel_if(status: str, db: Database, task_id: str, recorded: Recorded) -> None:
    """Cancel the task as its recording did, if it was cancelled while in `status` (queued
    or waiting for approval: a cancel that does not race a running step)."""
    if recorded.cancelled is None or recorded.cancelled[0] != status:
        return
    with db.read() as s:
        user = s.get(User, recorded.cancelled[1])
    if user is None:
        recorded.divergences.append(f"the user who cancelled {task_id} is unknown")
        return
    service = AgentService(db, LedgerStore(), TaskStore())
    service.cancel(Principal(user.id, user.name, user.role), task_id)


def _expire_now(db: Database, approval_id: str) -> None:
    # The recorded approval expired; making it due lets the real expiry decide it.
    with db.write() as s:
        s.execute(update(Approval).where(Approval.id == approval_id).values(expires_at=_PAST))


def _step(event: StoredEvent) -> str:
    p = event.payload
    what = p.get("phase") or p.get("status") or ""
    if event.type in (EventType.TOOL_CALL, EventType.APPROVAL):
        extra = f" {p.get('tool')} ({p.get('tool_call_id')})"
        if p.get("decision"):
            extra += f": {p['decision']}"
        return f"{event.type} {what}{extra}"
    if event.type == EventType.PLAN and what == "tool_calls":
        return f"{event.type} tool_calls: " + ", ".join(c["name"] for c in p["tool_calls"])
    if event.type == EventType.COMPLETION:
        return f"{event.type} {p.get('finish_reason')}: {str(p.get('text'))[:60]!r}"
    if event.type == EventType.TASK and p.get("phase"):
        return f"{event.type} {p.get('status')} ({p['phase']})"
    return f"{event.type} {what}".rstrip()
