"""The agent loop of one task (SPEC §3): plan, route, stream the completion, record it.

Invariants:
- Every step is recorded in the ledger in the same transaction as its state change, and only
  while this worker still holds the task's lease; a worker that lost its lease records
  nothing more (`LeaseLost`).
- A step already recorded by an earlier attempt (after a crash) is not recorded again.
- A Core failure fails the task at once with a readable reason and an `ErrorEvent`; an
  unexpected error puts the task back in its lane until `max_attempts` runs have failed.
- Token deltas go to the bus as they arrive; a cancel request stops the stream at the next
  delta and ends the task `cancelled`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from backend.agent.bus import TaskBus
from backend.agent.prompt import ReplyStyle, build_messages
from backend.agent.store import TaskStore
from backend.clock import now_text
from backend.core_client import CoreClient, CoreClientError
from backend.ledger.events import EventType, NewEvent, StoredEvent
from backend.ledger.store import LedgerStore
from backend.settings import EdgeSettings
from backend.storage.db import Database
from backend.storage.models import Message, Task

log = logging.getLogger("steward.edge.agent")


class LeaseLost(Exception):
    """This worker no longer holds the task; another may be running it."""


class TaskCancelled(Exception):
    """The task was cancelled while it ran."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A task this worker holds the lease of."""

    task_id: str
    conversation_id: str
    user_id: str
    input_text: str
    queue_seq: int
    attempt: int
    owner: str


@dataclass(frozen=True, slots=True)
class _Context:
    history: list[Message]
    recorded: dict[str, StoredEvent]
    input_event_id: str | None


class AgentLoop:
    """Runs claimed tasks to a recorded end."""

    def __init__(
        self,
        settings: EdgeSettings,
        db: Database,
        ledger: LedgerStore,
        tasks: TaskStore,
        core: CoreClient,
        bus: TaskBus,
    ):
        self.settings = settings
        self.db = db
        self.ledger = ledger
        self.tasks = tasks
        self.core = core
        self.bus = bus
        self._health: tuple[float, dict[str, Any]] | None = None

    async def run(self, claimed: Claimed) -> None:
        """Run `claimed` until it completes, fails, is cancelled or its lease is lost."""
        try:
            await self._run(claimed)
        except TaskCancelled:
            await asyncio.to_thread(
                self._end, claimed, "cancelled", None, "cancelled while running"
            )
        except CoreClientError as exc:
            error = {"code": _core_code(exc), "message": exc.reason, "retryable": exc.retryable}
            await asyncio.to_thread(self._end, claimed, "failed", error, exc.reason)
        except LeaseLost:
            log.warning("task %s: lease lost; another worker owns it now", claimed.task_id)
        except Exception as exc:
            log.exception("task %s: unexpected error", claimed.task_id)
            await asyncio.to_thread(self._release_or_fail, claimed, exc)
        finally:
            self.bus.drop_deltas(claimed.task_id)
            self.bus.forget_cancel(claimed.task_id)

    async def _run(self, claimed: Claimed) -> None:
        ctx = await asyncio.to_thread(self._load, claimed)
        style = ReplyStyle()
        plan = ctx.recorded.get(EventType.PLAN)
        if plan is None:
            payload = {
                "steps": ["read the conversation", "ask the model", "record the reply"],
                "history_messages": len(ctx.history),
                "tools": [],
                "attempt": claimed.attempt,
            }
            plan = await self._record(claimed, EventType.PLAN, payload, ctx.input_event_id)
        route = ctx.recorded.get(EventType.ROUTE)
        if route is None:
            health = await self._core_health()
            payload = {
                "backend": health.get("backend"),
                "model": self._served_model(health),
                "requested_model": self.settings.model,
                "core": self.settings.core_base_url,
                "reason": "Core's configured backend and default model; no routing rule applies",
            }
            route = await self._record(claimed, EventType.ROUTE, payload, plan.event_id)
        messages = build_messages(style, ctx.history, claimed.input_text)
        started = time.monotonic()
        first_token: list[float] = []

        async def on_delta(text: str) -> None:
            if self.bus.cancel_requested(claimed.task_id):
                raise TaskCancelled
            if not first_token:
                first_token.append(time.monotonic() - started)
            self.bus.publish_delta(claimed.task_id, text)

        result = await self.core.chat_stream(messages, model=self.settings.model, on_delta=on_delta)
        if self.bus.cancel_requested(claimed.task_id):
            raise TaskCancelled
        completion = {
            "text": result.content or "",
            "finish_reason": result.finish_reason,
            "model": result.model,
            "usage": {
                "prompt_tokens": result.usage.prompt_tokens,
                "completion_tokens": result.usage.completion_tokens,
                "total_tokens": result.usage.total_tokens,
            },
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "first_token_ms": round(first_token[0] * 1000, 1) if first_token else None,
        }
        await asyncio.to_thread(self._complete, claimed, completion, route.event_id)

    # --- reads --------------------------------------------------------------------------

    def _load(self, claimed: Claimed) -> _Context:
        with self.db.read() as s:
            history = self.tasks.history(
                s, claimed.conversation_id, claimed.queue_seq, self.settings.history_messages
            )
            events = self.ledger.for_task(s, claimed.task_id)
        recorded = {e.type: e for e in events if e.type in (EventType.PLAN, EventType.ROUTE)}
        input_event = next((e.event_id for e in events if e.type == EventType.INPUT), None)
        return _Context(history, recorded, input_event)

    async def _core_health(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._health and now - self._health[0] < 5.0:
            return self._health[1]
        health = await self.core.health()
        self._health = (now, health)
        return health

    def _served_model(self, health: dict[str, Any]) -> str:
        models = health.get("models") or []
        if self.settings.model == "default" and models:
            return str(models[0])
        return self.settings.model

    # --- writes (each in one transaction, under the lease) -------------------------------

    def _held(self, s: Session, claimed: Claimed) -> Task:
        task = self.tasks.get(s, claimed.task_id)
        if task is None or task.status != "running" or task.lease_owner != claimed.owner:
            raise LeaseLost
        return task

    async def _record(
        self, claimed: Claimed, type_: EventType, payload: dict[str, Any], cause: str | None
    ) -> StoredEvent:
        def write() -> StoredEvent:
            with self.db.write() as s:
                self._held(s, claimed)
                return self.ledger.append(s, self._event(claimed, type_, payload, cause))

        return await asyncio.to_thread(write)

    def _event(
        self, claimed: Claimed, type_: EventType, payload: dict[str, Any], cause: str | None
    ) -> NewEvent:
        return NewEvent(
            type_,
            payload,
            conversation_id=claimed.conversation_id,
            task_id=claimed.task_id,
            causation_id=cause,
        )

    def _complete(self, claimed: Claimed, completion: dict[str, Any], cause: str) -> None:
        with self.db.write() as s:
            task = self._held(s, claimed)
            event = self.ledger.append(
                s, self._event(claimed, EventType.COMPLETION, completion, cause)
            )
            now = now_text()
            s.add(
                Message(
                    id=event.event_id.replace("evt_", "msg_"),
                    conversation_id=claimed.conversation_id,
                    task_id=claimed.task_id,
                    role="assistant",
                    content=completion["text"],
                    seq=event.seq,
                    created_at=now,
                )
            )
            self.tasks.set_status(
                s, task, "completed", now, reply=completion["text"], finished_at=now,
                lease_owner=None, lease_expires_at=None,
            )  # fmt: skip
            self.ledger.append(
                s,
                self._event(
                    claimed,
                    EventType.TASK,
                    {"status": "completed", "from": "running"},
                    event.event_id,
                ),
            )

    def _end(self, claimed: Claimed, status: str, error: dict[str, Any] | None, why: str) -> None:
        with self.db.write() as s:
            try:
                task = self._held(s, claimed)
            except LeaseLost:
                return
            cause = None
            if error is not None:
                err = self.ledger.append(s, self._event(claimed, EventType.ERROR, error, None))
                cause = err.event_id
            now = now_text()
            self.tasks.set_status(
                s, task, status, now, finished_at=now, lease_owner=None, lease_expires_at=None,
                error=json.dumps(error) if error else None,
            )  # fmt: skip
            payload: dict[str, Any] = {"status": status, "from": "running", "reason": why}
            if error is not None:
                payload["error"] = error
            self.ledger.append(s, self._event(claimed, EventType.TASK, payload, cause))

    def _release_or_fail(self, claimed: Claimed, exc: Exception) -> None:
        error = {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}
        if claimed.attempt >= self.settings.max_attempts:
            why = f"gave up after {claimed.attempt} attempts; the last error: {error['message']}"
            self._end(claimed, "failed", {**error, "message": why}, why)
            return
        with self.db.write() as s:
            try:
                task = self._held(s, claimed)
            except LeaseLost:
                return
            err = self.ledger.append(s, self._event(claimed, EventType.ERROR, error, None))
            self.tasks.set_status(
                s, task, "queued", now_text(), lease_owner=None, lease_expires_at=None
            )
            payload = {
                "status": "queued",
                "from": "running",
                "phase": "released",
                "reason": error["message"],
            }
            self.ledger.append(s, self._event(claimed, EventType.TASK, payload, err.event_id))


def _core_code(exc: CoreClientError) -> str:
    name = type(exc).__name__
    return {
        "CoreUnavailable": "core_unavailable",
        "CoreTimeout": "core_timeout",
        "CoreRejected": "core_rejected",
        "CoreFailed": "core_failed",
    }.get(name, "core_error")
