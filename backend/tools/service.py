"""Executing tools under the policy, and deciding approvals.

Invariants:
- Intent before effect, receipt after: the `tool_calls` row (status `running`) and a
  `ToolCallEvent(started)` are committed before a tool runs; its result and
  `ToolCallEvent(completed|failed)` after. A call found `running` by a later process whose
  executor died is `ambiguous` if it was an external write (never re-run silently) and
  `interrupted` otherwise (safe to run again).
- The same tool call id never runs twice: a repeat returns the recorded result or state.
- An approval is decided once (its row is locked while it is decided); approving runs the
  tool exactly once; rejecting records the refusal. Either way the waiting task goes back to
  its lane once nothing else is pending.
- Rows of `tool_calls` and `approvals` are written by the events' projection
  (`backend.ledger.projection.tools`); this service writes only which process executes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from backend.agent.store import TaskStore
from backend.auth.principal import Principal
from backend.clock import now, now_text, rfc3339
from backend.errors import Conflict, NotFound
from backend.ids import new_id
from backend.ledger.events import SYSTEM, Actor, EventType, NewEvent
from backend.ledger.store import LedgerStore
from backend.pagination import next_cursor, parse_cursor
from backend.process_identity import is_dead, new_owner_id
from backend.settings import EdgeSettings
from backend.storage.db import Database
from backend.storage.models import Approval, ToolCall, User
from backend.tools.policy import Decision, decide
from backend.tools.recording import (
    approval_event,
    approval_requested_event,
    call_event,
    dump_value,
    policy_reason,
    refusal_event,
    requested_event,
)
from backend.tools.registry import ArgumentsInvalid, Risk, ToolContext, ToolRegistry, ToolSpec
from backend.tools.store import ToolStore, approval_public, call_public

log = logging.getLogger("steward.edge.tools")
FINISHED = ("completed", "failed", "rejected", "expired")


class ToolService:
    """Runs tools and decides approvals; shared by the API and the agent loop."""

    def __init__(
        self,
        settings: EdgeSettings,
        db: Database,
        ledger: LedgerStore,
        registry: ToolRegistry,
        tasks: TaskStore,
        memory: Any = None,
    ):
        self.settings = settings
        self.memory = memory
        self.db = db
        self.ledger = ledger
        self.registry = registry
        self.tasks = tasks
        self.store = ToolStore()
        self.executor = new_owner_id()

    def sync_registry(self) -> None:
        """Make the `tools_registry` table mirror the live registry."""
        with self.db.write() as s:
            self.store.sync_registry(s, self.registry.all(), now_text())

    # --- lookups ------------------------------------------------------------------------

    def spec(self, name: str) -> ToolSpec:
        spec = self.registry.get(name)
        if spec is None:
            known = ", ".join(s.name for s in self.registry.all())
            raise NotFound(f"No tool named '{name}'. Known tools: {known}.", code="tool_not_found")
        return spec

    def visible_call(self, principal: Principal, call_id: str) -> dict[str, Any]:
        with self.db.read() as s:
            call = self.store.call(s, call_id)
            if call is None or not principal.may_see(call.user_id):
                raise NotFound(f"No tool call '{call_id}'.", code="tool_call_not_found")
            return call_public(call)

    # --- execute ------------------------------------------------------------------------

    async def execute(
        self,
        principal: Principal,
        name: str,
        args: Any,
        call_id: str,
        *,
        conversation_id: str | None = None,
        task_id: str | None = None,
        model_call_id: str | None = None,
        step: int | None = None,
        cause: str | None = None,
        policy: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Run `name` under the policy, or hold it for approval. Raises `NotFound` for an
        unknown tool and `ArgumentsInvalid` for arguments that break its schema. `policy`
        carries the config's `always_ask` tools and `member_local_write`."""
        spec = self.spec(name)
        valid = spec.validate(args)
        context = (principal, conversation_id, task_id, model_call_id, step, cause, policy or {})
        recorded, started = await asyncio.to_thread(self._begin, spec, valid, call_id, context)
        if started is None:
            return recorded
        return await self._run(spec, valid, call_id, principal, conversation_id, task_id, started)

    def _begin(
        self, spec: ToolSpec, args: dict[str, Any], call_id: str, context: tuple[Any, ...]
    ) -> tuple[dict[str, Any], str | None]:
        """Record the call; returns (its state, the started event's id if it is to run now)."""
        principal, conversation_id, task_id, model_call_id, step, cause, policy = context
        with self.db.write() as s:
            existing = self.store.call(s, call_id)
            if existing is not None:
                same = existing.tool == spec.name and json.loads(existing.args) == args
                if not principal.may_see(existing.user_id) or not same:
                    raise Conflict(
                        f"tool_call_id '{call_id}' was already used for another call; use a "
                        "new id for a new call.",
                        code="tool_call_id_reused",
                    )
                if existing.status != "interrupted":
                    return call_public(existing), None
                return call_public(existing), self._start(s, existing, principal.actor, None)
            if conversation_id is not None:
                conv = self.tasks.conversation(s, conversation_id)
                if conv is None or not principal.may_see(conv.user_id):
                    raise NotFound(
                        f"No conversation '{conversation_id}'.", code="conversation_not_found"
                    )
            decision = decide(
                spec.risk,
                principal,
                always_ask=spec.name in policy.get("always_ask", ()),
                member_local_write=policy.get("member_local_write", "ask"),
            )
            # The `requested` event makes the call's row (backend.ledger.projection.tools).
            stamp = now_text()
            requested = requested_event(
                self.ledger,
                s,
                call_id,
                spec,
                principal,
                cause,
                (conversation_id, task_id),
                args=args,
                decision=str(decision),
                policy=policy_reason(spec.risk, principal),
                model_call_id=model_call_id,
                step=step,
                at=stamp,
            )
            call = self.store.call(s, call_id)
            assert call is not None
            if decision == Decision.NEEDS_APPROVAL:
                ttl = float(policy.get("approval_ttl_s", self.settings.approval_ttl_s))
                approval = self._request_approval(s, call, principal, requested, ttl)
                return call_public(call) | {"approval_id": approval.id}, None
            started = self._start(s, call, principal.actor, requested)
            return call_public(call), started

    def _request_approval(
        self, s: Session, call: ToolCall, principal: Principal, cause: str, ttl_s: float
    ) -> Approval:
        created, approval_id = now(), new_id("apr")
        expires = rfc3339(created + timedelta(seconds=ttl_s))
        approval_requested_event(
            self.ledger, s, approval_id, call, principal, cause, rfc3339(created), expires
        )
        approval = self.store.approval(s, approval_id)
        assert approval is not None
        return approval

    def _start(self, s: Session, call: ToolCall, actor: Actor, cause: str | None) -> str:
        call.executor = self.executor
        return self._event(s, call, actor, "started", cause, at=now_text())

    async def _run(
        self,
        spec: ToolSpec,
        args: dict[str, Any],
        call_id: str,
        principal: Principal,
        conversation_id: str | None,
        task_id: str | None,
        started_event: str,
    ) -> dict[str, Any]:
        ctx = ToolContext(
            user_id=principal.user_id,
            role=principal.role,
            conversation_id=conversation_id,
            task_id=task_id,
            tool_call_id=call_id,
            workspace=self.settings.workspace,
            settings=self.settings,
            event_id=started_event,
            memory=self.memory,
        )
        started = time.monotonic()
        result: Any = None
        error: str | None = None
        try:
            result = await spec.call(args, ctx)
        except Exception as exc:  # a tool's failure is a recorded result, not a crash
            error = str(exc) or type(exc).__name__
            log.info("tool %s failed: %s", spec.name, error)
        duration = round((time.monotonic() - started) * 1000, 1)
        return await asyncio.to_thread(
            self._finish, call_id, result, error, duration, started_event
        )

    def _finish(
        self, call_id: str, result: Any, error: str | None, duration: float, cause: str | None
    ) -> dict[str, Any]:
        with self.db.write() as s:
            call = self.store.call(s, call_id)
            assert call is not None
            extra: dict[str, Any] = {"duration_ms": duration, "at": now_text()}
            if error:
                extra["error"] = error
            else:
                extra["result"] = json.loads(dump_value(result))  # as stored: cut if too long
            self._event(s, call, SYSTEM, "failed" if error else "completed", cause, **extra)
            return call_public(call)

    # --- approvals ----------------------------------------------------------------------

    def list_approvals(
        self, principal: Principal, status: str | None, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        before = parse_cursor(cursor)
        with self.db.read() as s:
            rows = self.store.approvals(
                s,
                status=status,
                user_id=None if principal.is_owner else principal.user_id,
                before=before,
                limit=limit + 1,
            )
            data = [approval_public(a, self.store.call(s, a.tool_call_id)) for a in rows[:limit]]
        data.sort(key=lambda a: a["status"] != "pending")
        return {"data": data, "next_cursor": next_cursor(rows, limit)}

    def get_approval(self, principal: Principal, approval_id: str) -> dict[str, Any]:
        with self.db.read() as s:
            approval = self.store.approval(s, approval_id)
            if approval is None or not principal.may_see(approval.requested_by):
                raise NotFound(f"No approval '{approval_id}'.", code="approval_not_found")
            return approval_public(approval, self.store.call(s, approval.tool_call_id))

    async def approve(
        self, principal: Principal, approval_id: str, reason: str | None
    ) -> dict[str, Any]:
        """Approve and run the tool exactly once; resume the waiting task."""
        claimed = await asyncio.to_thread(self._claim_approval, principal, approval_id, reason)
        call = await self._run_approved(*claimed, approval_id)
        await asyncio.to_thread(self._resume_task, call.get("task_id"), approval_id)
        return self.get_approval(principal, approval_id)

    async def _run_approved(
        self, name: str, args: dict[str, Any], started: str, approval_id: str
    ) -> dict[str, Any]:
        with self.db.read() as s:
            approval = self.store.approval(s, approval_id)
            assert approval is not None
            call = self.store.call(s, approval.tool_call_id)
            assert call is not None
            user = s.get(User, call.user_id)
            assert user is not None
            call_id, conv, task = call.id, call.conversation_id, call.task_id
            requester = Principal(user.id, user.name, user.role)
        spec = self.registry.get(name)
        if spec is None:
            error = f"the tool '{name}' is no longer registered; nothing was run"
            return await asyncio.to_thread(self._finish, call_id, None, error, 0.0, started)
        return await self._run(spec, args, call_id, requester, conv, task, started)

    def _decide(
        self, s: Session, principal: Principal, approval_id: str, status: str, reason: str | None
    ) -> tuple[ToolCall, str]:
        """Move a pending approval to `status` once and record it; (its call, the event id)."""
        approval, call = self._pending(s, approval_id)
        event = self._approval_event(
            s,
            approval,
            call,
            principal.actor,
            status,
            None,
            decided_by=principal.user_id,
            reason=reason,
            at=now_text(),
        )
        return call, event

    def _claim_approval(
        self, principal: Principal, approval_id: str, reason: str | None
    ) -> tuple[str, dict[str, Any], str]:
        with self.db.write() as s:
            call, cause = self._decide(s, principal, approval_id, "approved", reason)
            started = self._start(s, call, principal.actor, cause)
            return call.tool, json.loads(call.args), started

    def reject(self, principal: Principal, approval_id: str, reason: str | None) -> dict[str, Any]:
        """Record the refusal; the waiting task continues with it."""
        with self.db.write() as s:
            call, cause = self._decide(s, principal, approval_id, "rejected", reason)
            error = f"the owner rejected this call{': ' + reason if reason else ''}"
            self._event(
                s,
                call,
                principal.actor,
                "rejected",
                cause,
                reason=reason,
                error=error,
                at=now_text(),
            )
            task_id = call.task_id
        self._resume_task(task_id, approval_id)
        return self.get_approval(principal, approval_id)

    def _pending(self, s: Session, approval_id: str) -> tuple[Approval, ToolCall]:
        approval = self.store.lock_approval(s, approval_id)
        if approval is None:
            raise NotFound(f"No approval '{approval_id}'.", code="approval_not_found")
        if approval.status != "pending":
            raise self._already_decided(approval_id, approval.status)
        call = self.store.call(s, approval.tool_call_id)
        assert call is not None
        task = self.tasks.get(s, approval.task_id) if approval.task_id else None
        if task is not None and task.status in ("cancelled", "failed"):
            raise Conflict(
                f"The task this approval belongs to is {task.status}; nothing will be run.",
                code="task_finished",
            )
        if approval.expires_at < now_text():
            self._expire(s, approval, call)
            raise self._already_decided(approval_id, "expired")
        return approval, call

    @staticmethod
    def _already_decided(approval_id: str, status: str) -> Conflict:
        return Conflict(
            f"Approval '{approval_id}' is already {status}; a decision is made only once.",
            code="approval_decided",
        )

    def _expire(self, s: Session, approval: Approval, call: ToolCall) -> None:
        """Expire a pending approval (the caller holds its row) and its call."""
        stamp = now_text()
        cause = self._approval_event(
            s, approval, call, SYSTEM, "expired", None, decided_by=None, reason=None, at=stamp
        )
        error = "the approval expired before the owner decided; nothing was run"
        self._event(s, call, SYSTEM, "expired", cause, error=error, at=stamp)

    def expire_due(self) -> list[str]:
        """Expire overdue approvals; returns the ids of tasks to resume."""
        with self.db.write() as s:
            due = self.store.expired_pending(s, now_text())
            tasks = []
            for approval in due:
                call = self.store.call(s, approval.tool_call_id)
                assert call is not None
                self._expire(s, approval, call)
                if approval.task_id:
                    tasks.append((approval.task_id, approval.id))
        for task_id, approval_id in tasks:
            self._resume_task(task_id, approval_id)
        return [t for t, _ in tasks]

    def resume_stranded(self) -> list[str]:
        """Put back in their lanes the tasks a crash left waiting on approvals that were all
        decided (and whose approved calls ended); returns their ids. Run at start, after
        `recover_interrupted`, and by the approvals sweep."""
        with self.db.read() as s:
            stranded = self.store.stranded_waits(s)
        for task_id, approval_id in stranded:
            self._resume_task(task_id, approval_id)
        return [task_id for task_id, _ in stranded]

    def _resume_task(self, task_id: str | None, approval_id: str | None) -> None:
        """Put a waiting task back in its lane once none of its approvals is pending."""
        if task_id is None:
            return
        with self.db.write() as s:
            task = self.tasks.get(s, task_id)
            if task is None or task.status != "waiting_approval":
                return
            if self.store.pending_of_task(s, task_id):
                return
            self.tasks.transition(task, "queued")
            self.ledger.append(
                s,
                NewEvent(
                    EventType.TASK,
                    {
                        "status": "queued",
                        "from": "waiting_approval",
                        "phase": "resumed",
                        "approval_id": approval_id,
                    },
                    conversation_id=task.conversation_id,
                    task_id=task.id,
                ),
            )

    def record_refusal(
        self, claimed: Any, call: dict[str, str], why: str, cause: str | None
    ) -> None:
        """Record that a model's tool call was refused before it could run."""
        with self.db.write() as s:
            refusal_event(self.ledger, s, claimed, call, why, cause)

    # --- recovery -----------------------------------------------------------------------

    def recover_interrupted(self) -> int:
        """Mark calls whose executor died mid-run: external writes `ambiguous`, others
        `interrupted` (their task runs them again)."""
        moved = 0
        with self.db.write() as s:
            for call in self.store.interrupted(s):
                if not is_dead(call.executor, ours=self.executor):
                    continue
                moved += 1
                external = call.risk == Risk.EXTERNAL_WRITE
                error = (
                    "Steward stopped while this external write ran; it may or may not have "
                    "happened. It will not be re-run unless the owner retries it."
                    if external
                    else "Steward stopped while this call ran; it will run again."
                )
                phase = "ambiguous" if external else "interrupted"
                self._event(s, call, SYSTEM, phase, None, error=error)
        return moved

    def _event(
        self, s: Session, call: ToolCall, actor: Actor, phase: str, cause: str | None, **extra: Any
    ) -> str:
        return call_event(self.ledger, s, call, actor, phase, cause, **extra)

    def _approval_event(
        self,
        s: Session,
        approval: Approval,
        call: ToolCall,
        actor: Actor,
        phase: str,
        cause: str | None,
        **extra: Any,
    ) -> str:
        return approval_event(self.ledger, s, approval, call, actor, phase, cause, **extra)


__all__ = ["FINISHED", "ArgumentsInvalid", "ToolService"]
