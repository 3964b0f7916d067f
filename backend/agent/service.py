"""Messages and tasks: the rules behind the routes.

Submitting a message appends an `InputEvent`, whose projection makes the conversation (the
first time), the user's message and the queued task, all in one transaction; the task's place
in its lane is the seq of that event. An `Idempotency-Key` makes a retried submission return
the first task.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.exc import IntegrityError

from backend.agent.store import TERMINAL, TaskStore
from backend.auth.principal import Principal
from backend.clock import now_text
from backend.errors import Conflict, NotFound, Unprocessable
from backend.ids import ID_PATTERN, new_id
from backend.ledger.events import EventType, NewEvent
from backend.ledger.hashing import canonical
from backend.ledger.store import LedgerStore
from backend.pagination import next_cursor, parse_cursor
from backend.storage.db import Database
from backend.storage.models import Task


def task_public(task: Task) -> dict[str, Any]:
    """The Task resource."""
    return {
        "task_id": task.id,
        "conversation_id": task.conversation_id,
        "status": task.status,
        "input": task.input_text,
        "reply": task.reply,
        "error": json.loads(task.error) if task.error else None,
        "config_revision": task.config_revision,
        "attempts": task.attempts,
        "created_at": task.created_at,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "updated_at": task.updated_at,
    }


class AgentService:
    """Submit messages; read, list and cancel tasks."""

    def __init__(self, db: Database, ledger: LedgerStore, tasks: TaskStore):
        self.db = db
        self.ledger = ledger
        self.tasks = tasks

    def submit(
        self,
        principal: Principal,
        text: str,
        conversation_id: str | None,
        idempotency_key: str | None,
    ) -> tuple[dict[str, Any], bool]:
        """Queue a task for `text`. Returns (task, created)."""
        if conversation_id is not None and not ID_PATTERN.match(conversation_id):
            raise Unprocessable(
                "conversation_id may contain only letters, digits, '_' and '-' (1-80 chars).",
                code="bad_conversation_id",
            )
        request = {"text": text, "conversation_id": conversation_id}
        request_hash = hashlib.sha256(canonical(request).encode()).hexdigest()
        for attempt in range(3):
            try:
                return self._submit(principal, text, conversation_id, idempotency_key, request_hash)
            except IntegrityError:
                if attempt == 2:
                    raise  # a concurrent submission raced us three times: give up loudly
        raise AssertionError("unreachable")

    def _submit(
        self,
        principal: Principal,
        text: str,
        conversation_id: str | None,
        key: str | None,
        request_hash: str,
    ) -> tuple[dict[str, Any], bool]:
        with self.db.write() as s:
            if key is not None:
                existing = self.tasks.by_idempotency_key(s, principal.user_id, key)
                if existing is not None:
                    if existing.request_hash != request_hash:
                        raise Conflict(
                            "This Idempotency-Key was already used for a different request. "
                            "Use a new key for a new message.",
                            code="idempotency_key_reused",
                        )
                    return task_public(existing), False
            now = now_text()
            conv = self.tasks.conversation(s, conversation_id) if conversation_id else None
            if conv is not None and not principal.may_see(conv.user_id):
                raise NotFound(
                    f"No conversation '{conversation_id}'.", code="conversation_not_found"
                )
            task_id, message_id = new_id("task"), new_id("msg")
            # The input event makes the conversation (the first time), the task and the
            # user's message (backend.ledger.projection.agent.on_input).
            input_event = self.ledger.append(
                s,
                NewEvent(
                    EventType.INPUT,
                    {"text": text, "message_id": message_id, "at": now},
                    actor=principal.actor,
                    conversation_id=conv.id if conv else conversation_id or new_id("conv"),
                    task_id=task_id,
                ),
            )
            task = self.tasks.get(s, task_id)
            assert task is not None
            task.idempotency_key, task.request_hash = key, request_hash
            self.ledger.append(
                s,
                NewEvent(
                    EventType.TASK,
                    {"status": "queued", "from": None},
                    actor=principal.actor,
                    conversation_id=task.conversation_id,
                    task_id=task_id,
                    causation_id=input_event.event_id,
                ),
            )
            return task_public(task), True

    def visible_task(self, principal: Principal, task_id: str) -> dict[str, Any]:
        """A task the principal may see, or 404."""
        with self.db.read() as s:
            task = self.tasks.get(s, task_id)
            if task is None or not principal.may_see(task.user_id):
                raise NotFound(f"No task '{task_id}'.", code="task_not_found")
            return task_public(task)

    def list_tasks(
        self,
        principal: Principal,
        conversation_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        """Tasks newest first, `{data, next_cursor}`."""
        before = parse_cursor(cursor)
        with self.db.read() as s:
            rows = self.tasks.page(
                s,
                user_id=None if principal.is_owner else principal.user_id,
                conversation_id=conversation_id,
                status=status,
                before=before,
                limit=limit + 1,
            )
            data = [task_public(t) for t in rows[:limit]]
        return {"data": data, "next_cursor": next_cursor(rows, limit)}

    def cancel(self, principal: Principal, task_id: str) -> tuple[dict[str, Any], bool]:
        """Cancel a task. Queued or waiting: at once. Running: at its next step.
        Returns (task, running) where running says the worker still has to stop it."""
        with self.db.write() as s:
            task = self.tasks.get(s, task_id)
            if task is None or not principal.may_see(task.user_id):
                raise NotFound(f"No task '{task_id}'.", code="task_not_found")
            if task.status in TERMINAL:
                raise Conflict(
                    f"Task '{task_id}' is already {task.status}; nothing to cancel.",
                    code="task_finished",
                )
            now = now_text()
            if task.status == "running":
                self.ledger.append(
                    s,
                    NewEvent(
                        EventType.TASK,
                        {"status": "running", "phase": "cancel_requested"},
                        actor=principal.actor,
                        conversation_id=task.conversation_id,
                        task_id=task.id,
                    ),
                )
                return task_public(task), True
            previous = task.status
            self.tasks.transition(task, "cancelled", lease_owner=None)
            self.ledger.append(
                s,
                NewEvent(
                    EventType.TASK,
                    {
                        "status": "cancelled",
                        "from": previous,
                        "reason": "cancelled by request",
                        "at": now,
                    },
                    actor=principal.actor,
                    conversation_id=task.conversation_id,
                    task_id=task.id,
                ),
            )
            return task_public(task), False

    def lanes(self, principal: Principal) -> dict[str, Any]:
        """Each active lane's depth, running task and oldest queued task."""
        with self.db.read() as s:
            lanes = self.tasks.lanes(s, None if principal.is_owner else principal.user_id)
        return {
            "data": [
                {
                    "conversation_id": lane.conversation_id,
                    "depth": lane.depth,
                    "running_task_id": lane.running_task_id,
                    "oldest_queued_task_id": lane.oldest_queued_task_id,
                }
                for lane in lanes
            ],
            "next_cursor": None,
        }
