"""The agent loop of one task (SPEC §3): plan, route, stream the completion, record it.

Invariants:
- Every step is recorded in the ledger in the same transaction as its state change, and only
  while this worker still holds the task's lease; a worker that lost its lease records
  nothing more (`LeaseLost`).
- A step already recorded by an earlier attempt (after a crash) is not recorded again.
- A Core failure fails the task at once with a readable reason and an `ErrorEvent`, unless
  the cloud fallback answers instead (`routing.py`, recorded as a `FallbackEvent`); an
  unexpected error puts the task back in its lane until `max_attempts` runs have failed.
- Token deltas go to the bus as they arrive; a cancel request stops the stream at the next
  delta and ends the task `cancelled`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from backend.agent.bus import TaskBus
from backend.agent.prompt import ReplyStyle, build_messages
from backend.agent.recall import RECALL_PHASES, recall_payload, recalled_texts
from backend.agent.routing import ModelRouter
from backend.agent.store import TaskStore
from backend.agent.tool_steps import ToolCallRequest, assistant_turn, run_tool_call
from backend.auth.principal import Principal
from backend.clock import now_text
from backend.config.service import ConfigService, Effective
from backend.core_client import ChatCompletion, CoreClient, CoreClientError
from backend.core_client.errors import error_code
from backend.errors import StorageUnavailable
from backend.ledger.events import EventType, NewEvent, StoredEvent
from backend.ledger.store import LedgerStore
from backend.memory.service import MemoryService
from backend.settings import EdgeSettings
from backend.storage.db import Database
from backend.storage.models import Message, Task, User
from backend.tools.registry import ToolSpec
from backend.tools.service import ToolService

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
    turns: list[StoredEvent]
    principal: Principal
    config: Effective


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
        tools: ToolService,
        config: ConfigService,
        memory: MemoryService,
        fallback: CoreClient | None = None,
    ):
        self.settings = settings
        self.db = db
        self.ledger = ledger
        self.tasks = tasks
        self.core = core
        self.bus = bus
        self.tools = tools
        self.config = config
        self.memory = memory
        self.router = ModelRouter(core, fallback, settings.fallback_model)
        self._health: tuple[float, dict[str, Any]] | None = None
        self._last_duration = 0.0

    async def run(self, claimed: Claimed) -> None:
        """Run `claimed` until it completes, fails, is cancelled or its lease is lost."""
        try:
            await self._run(claimed)
        except TaskCancelled:
            await asyncio.to_thread(
                self._end, claimed, "cancelled", None, "cancelled while running"
            )
        except CoreClientError as exc:
            error = {"code": error_code(exc), "message": exc.reason, "retryable": exc.retryable}
            await asyncio.to_thread(self._end, claimed, "failed", error, exc.reason)
        except LeaseLost:
            log.warning("task %s: lease lost; another worker owns it now", claimed.task_id)
        except StorageUnavailable:
            raise  # the worker keeps the lease and goes on with this attempt once writes do
        except Exception as exc:
            log.exception("task %s: unexpected error", claimed.task_id)
            await asyncio.to_thread(self._release_or_fail, claimed, exc)
        finally:
            self.bus.drop_deltas(claimed.task_id)
            self.bus.forget_cancel(claimed.task_id)

    async def _run(self, claimed: Claimed) -> None:
        for _ in range(self.settings.max_steps + 2):
            if await self._advance(claimed) != "again":
                return
        raise RuntimeError("the task kept resuming without progress")

    async def _advance(self, claimed: Claimed) -> str:
        """Replay the recorded steps, then continue: "done", "waiting" or "again"."""
        ctx = await asyncio.to_thread(self._load, claimed)
        plan = ctx.recorded.get(EventType.PLAN)
        if plan is None:
            payload = {
                "steps": [
                    "read the conversation",
                    "ask the model",
                    "use tools if needed",
                    "record the reply",
                ],
                "history_messages": len(ctx.history),
                "tools": [t.name for t in self._tools(ctx)],
                "max_steps": ctx.config.config.tools.max_steps,
                "config_revision": ctx.config.revision,
                "attempt": claimed.attempt,
            }
            plan = await self._record(claimed, EventType.PLAN, payload, ctx.input_event_id)
        route = ctx.recorded.get(EventType.ROUTE)
        if route is None:
            reason = "Core's configured backend and default model; no routing rule applies"
            try:
                health = await self._core_health()
            except CoreClientError as exc:
                allowed = ctx.config.config.routing.cloud_fallback
                self.router.refuse_unless_fallback(exc, allowed)
                health = {}
                reason = f"Core did not answer its health check; the cloud fallback may: {exc}"
            payload = {
                "backend": health.get("backend"),
                "model": self._served_model(health),
                "requested_model": self.settings.model,
                "core": self.settings.core_base_url,
                "reason": reason,
            }
            route = await self._record(claimed, EventType.ROUTE, payload, plan.event_id)
        recall = ctx.recorded.get(EventType.MEMORY)
        if recall is None:
            memory = ctx.config.config.memory
            payload = await recall_payload(
                self.memory,
                claimed.user_id,
                claimed.input_text,
                enabled=memory.enabled,
                top_k=memory.top_k,
                min_score=self.settings.recall_min_score,
            )
            recall = await self._record(claimed, EventType.MEMORY, payload, route.event_id)
        memories = await asyncio.to_thread(recalled_texts, self.db, recall)
        reply = ctx.config.config.reply
        style = ReplyStyle(reply.verbosity, reply.tone, reply.language, reply.format)
        transcript = build_messages(style, ctx.history, claimed.input_text, memories)
        step, cause = 0, recall.event_id
        for turn in ctx.turns:
            step, cause = turn.payload["step"], turn.event_id
            calls = [ToolCallRequest(**c) for c in turn.payload["tool_calls"]]
            transcript.append(assistant_turn(turn.payload.get("text"), calls))
            outcome = await self._run_calls(ctx, claimed, calls, step, turn.event_id)
            if outcome is None:
                return await asyncio.to_thread(self._wait_for_approval, claimed)
            transcript += outcome
        while True:
            step += 1
            last = step >= ctx.config.config.tools.max_steps
            result = await self._ask_model(ctx, claimed, transcript, last, cause)
            if not result.tool_calls or last:
                completion = self._completion(result)
                revision = ctx.config.revision
                await asyncio.to_thread(self._complete, claimed, completion, cause, revision)
                return "done"
            calls = [ToolCallRequest(c.id, c.name, c.arguments) for c in result.tool_calls]
            turn_payload = {
                "phase": "tool_calls",
                "step": step,
                "text": result.content,
                "tool_calls": [c.as_dict() for c in calls],
                "usage": result.usage.as_dict(),
            }
            turn = await self._record(claimed, EventType.PLAN, turn_payload, cause)
            cause = turn.event_id
            transcript.append(assistant_turn(result.content, calls))
            outcome = await self._run_calls(ctx, claimed, calls, step, turn.event_id)
            if outcome is None:
                return await asyncio.to_thread(self._wait_for_approval, claimed)
            transcript += outcome

    def _tools(self, ctx: _Context) -> list[ToolSpec]:
        """The tools this task may offer the model, after the config's choices."""
        cfg = ctx.config.config
        if not ctx.principal.is_owner and not cfg.members.can_use_tools:
            return []
        return [t for t in self.tools.registry.all() if t.name not in cfg.tools.disabled]

    async def _ask_model(
        self,
        ctx: _Context,
        claimed: Claimed,
        transcript: list[dict[str, Any]],
        last: bool,
        cause: str,
    ) -> ChatCompletion:
        started = time.monotonic()

        async def on_delta(text: str) -> None:
            if self.bus.cancel_requested(claimed.task_id):
                raise TaskCancelled
            self.bus.publish_delta(claimed.task_id, text)

        tools = [t.openai() for t in self._tools(ctx)]
        routed = ctx.config.config.routing.model

        async def record_fallback(payload: dict[str, Any]) -> None:
            await self._record(claimed, EventType.FALLBACK, payload, cause)

        result = await self.router.chat_stream(
            transcript,
            model=self.settings.model if routed == "default" else routed,
            max_tokens=self.settings.max_reply_tokens,
            tools=tools or None,
            tool_choice=("none" if last else "auto") if tools else None,
            on_delta=on_delta,
            fallback_allowed=ctx.config.config.routing.cloud_fallback,
            record_fallback=record_fallback,
        )
        if self.bus.cancel_requested(claimed.task_id):
            raise TaskCancelled
        self._last_duration = time.monotonic() - started
        return result

    def _completion(self, result: ChatCompletion) -> dict[str, Any]:
        return {
            "text": result.content or "",
            "finish_reason": result.finish_reason,
            "model": result.model,
            "usage": result.usage.as_dict(),
            "duration_ms": round(self._last_duration * 1000, 1),
        }

    async def _run_calls(
        self,
        ctx: _Context,
        claimed: Claimed,
        calls: list[ToolCallRequest],
        step: int,
        cause: str,
    ) -> list[dict[str, Any]] | None:
        """Run (or find the recorded outcome of) each call; None if any awaits approval."""
        messages: list[dict[str, Any]] = []
        pending = False
        allowed = {t.name for t in self._tools(ctx)}
        cfg = ctx.config.config
        ask_all = cfg.approvals.ask_before_every_tool
        policy = {
            "always_ask": allowed if ask_all else set(cfg.tools.always_ask),
            "member_local_write": ctx.config.config.approvals.member_local_write,
            "approval_ttl_s": min(
                ctx.config.config.approvals.ttl_seconds, self.settings.approval_ttl_s
            ),
        }
        for call in calls:
            content = await run_tool_call(
                self.tools, claimed, ctx.principal, call, step, cause, allowed, policy
            )
            if content is None:
                pending = True
            else:
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
        return None if pending else messages

    # --- reads --------------------------------------------------------------------------

    def _load(self, claimed: Claimed) -> _Context:
        with self.db.read() as s:
            history = self.tasks.history(
                s, claimed.conversation_id, claimed.queue_seq, self.settings.history_messages
            )
            events = self.ledger.for_task(s, claimed.task_id)
            user = s.get(User, claimed.user_id)
            assert user is not None
            config = self.config.for_task(s, claimed.conversation_id)
        principal = Principal(user.id, user.name, user.role)
        recorded: dict[str, StoredEvent] = {}
        turns: list[StoredEvent] = []
        for e in events:
            if e.type == EventType.PLAN and e.payload.get("phase") == "tool_calls":
                turns.append(e)
            elif e.type in (EventType.PLAN, EventType.ROUTE) or (
                e.type == EventType.MEMORY and e.payload.get("phase") in RECALL_PHASES
            ):
                recorded.setdefault(e.type, e)
        input_event = next((e.event_id for e in events if e.type == EventType.INPUT), None)
        return _Context(history, recorded, input_event, turns, principal, config)

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

    def _complete(
        self, claimed: Claimed, completion: dict[str, Any], cause: str, revision: str | None
    ) -> None:
        with self.db.write() as s:
            task = self._held(s, claimed)
            event = self.ledger.append(
                s, self._event(claimed, EventType.COMPLETION, completion, cause)
            )
            # The completion event makes the assistant's message, the task event completes
            # the task (backend.ledger.projection.agent).
            now = now_text()
            self.tasks.transition(task, "completed", lease_owner=None, lease_expires_at=None)
            self.ledger.append(
                s,
                self._event(
                    claimed,
                    EventType.TASK,
                    {
                        "status": "completed",
                        "from": "running",
                        "at": now,
                        "config_revision": revision,
                    },
                    event.event_id,
                ),
            )

    def _wait_for_approval(self, claimed: Claimed) -> str:
        """Free the worker while approvals are pending; "again" if they were all decided
        meanwhile (the decision and this check are serialised by the database)."""
        with self.db.write() as s:
            task = self._held(s, claimed)
            pending = self.tools.store.pending_of_task(s, claimed.task_id)
            if not pending:
                return "again"
            self.tasks.transition(task, "waiting_approval", lease_owner=None, lease_expires_at=None)
            payload = {
                "status": "waiting_approval",
                "from": "running",
                "pending_approvals": pending,
            }
            self.ledger.append(
                s,
                self._event(
                    claimed, EventType.TASK, payload, self.ledger.last_event_id(s, claimed.task_id)
                ),
            )
            return "waiting"

    def _end(self, claimed: Claimed, status: str, error: dict[str, Any] | None, why: str) -> None:
        with self.db.write() as s:
            try:
                task = self._held(s, claimed)
            except LeaseLost:
                return
            cause = None
            if error is not None:
                err = self.ledger.append(
                    s,
                    self._event(
                        claimed,
                        EventType.ERROR,
                        error,
                        self.ledger.last_event_id(s, claimed.task_id),
                    ),
                )
                cause = err.event_id
            now = now_text()
            self.tasks.transition(task, status, lease_owner=None, lease_expires_at=None)
            payload: dict[str, Any] = {
                "status": status,
                "from": "running",
                "reason": why,
                "at": now,
            }
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
            err = self.ledger.append(
                s,
                self._event(
                    claimed, EventType.ERROR, error, self.ledger.last_event_id(s, claimed.task_id)
                ),
            )
            self.tasks.transition(task, "queued", lease_owner=None, lease_expires_at=None)
            payload = {
                "status": "queued",
                "from": "running",
                "phase": "released",
                "reason": error["message"],
            }
            self.ledger.append(s, self._event(claimed, EventType.TASK, payload, err.event_id))
