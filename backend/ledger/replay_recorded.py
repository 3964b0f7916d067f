"""What a finished task recorded, and the stand-ins that hand it back to a replay.

Invariants:
- Nothing here reaches the network or runs a tool. `RecordedCore` answers every model call
  from the task's recorded model turns, in order (each `PlanEvent` phase `tool_calls`, then
  the `CompletionEvent`); the tools of `recorded_registry` return the recorded result (or
  raise the recorded error) of the call id they are given.
- A Core failure the task recorded (`ErrorEvent` with a Core error code) is raised again
  where it happened: at the route if no route was recorded, else at the model call after
  the recorded turns. A turn Core failed and the fallback answered (`FallbackEvent`) fails
  again on Core and is answered by the `RecordedCore(..., fallback=True)` beside it.
- Asking for what was not recorded (one more model turn, a call with no recorded outcome,
  embeddings) is a divergence: it is noted in `Recorded.divergences` and raised as an error
  the real loop handles and records, so the comparison of events shows where it happened.
- The replayed tools keep the live registry's name, risk, schema and source (from the
  `tools_registry` table), so the real policy decides on the same facts. A built-in tool's
  arguments are validated by its own model, as live; any other tool's against its JSON
  Schema, as MCP tools are (`McpToolSpec`), since its code is not loaded in a replay (an
  entry-point tool with a pydantic model may word a refusal differently: a divergence).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from backend.core_client import (
    ChatCompletion,
    CoreClient,
    CoreClientError,
    CoreFailed,
    CoreRejected,
    CoreTimeout,
    CoreUnavailable,
)
from backend.core_client.breaker import CircuitBreaker
from backend.core_client.openai_compat import OnDelta
from backend.core_client.results import EmbeddingsResult, ToolCall, Usage
from backend.ledger.events import EventType, StoredEvent
from backend.tools.errors import ToolError
from backend.tools.mcp_source import McpToolSpec
from backend.tools.registry import Risk, ToolContext, ToolRegistry, ToolSpec
from backend.tools.sources import BUILTIN_SOURCE, load_builtin

__all__ = ["Decided", "Recorded", "RecordedCore", "ReplayDiverged", "recorded_registry"]

DECISIONS = ("approved", "rejected", "expired")
# The Core errors a task records (`error_code`), so a recorded failure fails the replay alike.
_CORE_ERRORS: dict[str, type[CoreClientError]] = {
    "core_unavailable": CoreUnavailable,
    "core_timeout": CoreTimeout,
    "core_rejected": CoreRejected,
    "core_failed": CoreFailed,
}


class ReplayDiverged(CoreFailed):
    """The loop asked the model for a turn that was never recorded."""


@dataclass(frozen=True, slots=True)
class Decided:
    """How an approval was decided: `approved`, `rejected` or `expired`, by whom, why."""

    phase: str
    decided_by: str | None
    reason: str | None


@dataclass(slots=True)
class Recorded:
    """A task's recorded inputs, read from its events in `seq` order."""

    events: list[StoredEvent]
    turns: list[ChatCompletion] = field(default_factory=list)
    route: dict[str, Any] = field(default_factory=dict)
    results: dict[str, tuple[bool, Any]] = field(default_factory=dict)
    decisions: dict[str, Decided] = field(default_factory=dict)
    core_failure: CoreClientError | None = None
    # Model turns (by index) that Core failed and the fallback answered, with Core's error.
    fell_back: dict[int, CoreClientError] = field(default_factory=dict)
    asked: int = 0  # model turns handed out so far, by Core and the fallback together
    cancelled: tuple[str, str] | None = None  # (the status it was cancelled from, by whom)
    divergences: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, events: list[StoredEvent]) -> Recorded:
        """Collect the model turns, route, tool outcomes and approval decisions."""
        out = cls(events)
        ran = False
        for e in events:
            p = e.payload
            ran = ran or (e.type == EventType.TASK and p.get("status") == "running")
            if e.type == EventType.ROUTE and not out.route:
                out.route = p
            elif e.type == EventType.PLAN and p.get("phase") == "tool_calls":
                calls = [ToolCall(c["id"], c["name"], c["arguments"]) for c in p["tool_calls"]]
                out.turns.append(_turn(p.get("text"), calls, "tool_calls", out.route, p))
            elif e.type == EventType.COMPLETION:
                text, finish = p.get("text"), str(p.get("finish_reason") or "stop")
                out.turns.append(_turn(text, [], finish, out.route, p))
            elif e.type == EventType.TOOL_CALL and p.get("phase") in ("completed", "failed"):
                ok = p["phase"] == "completed"
                out.results[p["tool_call_id"]] = (ok, p.get("result") if ok else p.get("error"))
            elif e.type == EventType.APPROVAL and p.get("phase") in DECISIONS:
                decided = Decided(p["phase"], p.get("decided_by"), p.get("reason"))
                out.decisions[p["tool_call_id"]] = decided
            elif e.type == EventType.TASK and p.get("status") == "cancelled":
                # Cancelled while queued means before it ever ran; a later requeue's cancel
                # follows a run the replay makes, so it is recorded as "requeued".
                origin = str(p.get("from"))
                requeued = origin == "queued" and ran
                out.cancelled = ("requeued" if requeued else origin, e.actor.id)
            elif e.type == EventType.FALLBACK:
                error = _CORE_ERRORS.get(str(p.get("error")), CoreUnavailable)
                out.fell_back[len(out.turns)] = error(str(p.get("reason")), retryable=True)
            elif e.type == EventType.ERROR and p.get("code") in _CORE_ERRORS:
                error = _CORE_ERRORS[p["code"]]
                out.core_failure = error(str(p.get("message")), retryable=p.get("retryable"))
        return out


def _turn(
    text: Any, calls: list[ToolCall], finish: str, route: dict[str, Any], p: dict[str, Any]
) -> ChatCompletion:
    usage = p.get("usage") or {}
    return ChatCompletion(
        content=text if isinstance(text, str) else None,
        tool_calls=calls,
        finish_reason=finish,
        model=str(p.get("model") or route.get("model") or "default"),
        usage=Usage(
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
            int(usage.get("total_tokens", 0)),
        ),
    )


class RecordedCore(CoreClient):
    """A `CoreClient` with no connection: it answers with the recorded model turns."""

    def __init__(self, recorded: Recorded, *, fallback: bool = False) -> None:
        # No `super().__init__`: there is deliberately no HTTP client to open or close.
        self.recorded = recorded
        self.is_fallback = fallback
        self.breaker = CircuitBreaker("recorded:")

    def __repr__(self) -> str:
        return f"RecordedCore({len(self.recorded.turns)} turns)"

    @property
    def base_url(self) -> str:
        return str(self.recorded.route.get("core") or "recorded:")

    async def aclose(self) -> None:
        return None

    async def health(self) -> dict[str, Any]:
        route = self.recorded.route
        if not route and self.recorded.core_failure is not None:
            # Core was not there when the task asked for its route.
            raise self.recorded.core_failure
        models = [route["model"]] if route.get("model") else []
        return {"status": "ok", "backend": route.get("backend"), "models": models}

    async def models(self) -> list[str]:
        return [str(m) for m in (await self.health())["models"]]

    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str = "default",
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
    ) -> ChatCompletion:
        return self._next()

    async def chat_stream(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str = "default",
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
        on_delta: OnDelta | None = None,
    ) -> ChatCompletion:
        turn = self._next()
        if turn.content and on_delta is not None:
            await on_delta(turn.content)
        return turn

    async def embeddings(self, inputs: list[str], *, model: str = "default") -> EmbeddingsResult:
        # Recalled memories are a recorded input; nothing else in a replay may embed.
        raise CoreUnavailable("a replay makes no model calls: embeddings were not recorded")

    def _next(self) -> ChatCompletion:
        turns = self.recorded.turns
        asked = self.recorded.asked
        if not self.is_fallback and asked in self.recorded.fell_back:
            # Core failed this turn and the fallback answered it: fail it again here.
            raise self.recorded.fell_back[asked]
        if asked >= len(turns) and self.recorded.core_failure is not None:
            # The model call after the recorded turns is the one that failed.
            raise self.recorded.core_failure
        if asked >= len(turns):
            why = (
                f"replay diverged: the loop asked for model turn {asked + 1}, "
                f"but the task recorded {len(turns)}"
            )
            self.recorded.divergences.append(why)
            raise ReplayDiverged(why, retryable=False, code="replay_diverged")
        self.recorded.asked += 1
        return turns[asked]


def recorded_registry(rows: list[dict[str, Any]], recorded: Recorded) -> ToolRegistry:
    """A registry with one tool per `tools_registry` row, each returning recorded outcomes."""

    async def outcome(**kwargs: Any) -> Any:
        ctx: ToolContext = kwargs["ctx"]
        found = recorded.results.get(ctx.tool_call_id)
        if found is None:
            why = f"replay diverged: tool call {ctx.tool_call_id} has no recorded result"
            recorded.divergences.append(why)
            raise ToolError(why)
        ok, value = found
        if not ok:
            raise ToolError(str(value))
        return value

    builtin = ToolRegistry()
    load_builtin(builtin)
    registry = ToolRegistry()
    for row in rows:
        spec: ToolSpec = McpToolSpec(
            name=row["name"],
            risk=Risk(row["risk"]),
            description=row["description"],
            schema=json.loads(row["schema"]),
            source=row["source"],
            handler=outcome,
            wants_context=True,
        )
        own = builtin.get(spec.name) if spec.source == BUILTIN_SOURCE else None
        if own is not None:
            # Keep the recorded risk and schema; borrow only the argument model.
            spec = dataclasses.replace(
                own, risk=spec.risk, schema=spec.schema, handler=outcome, wants_context=True
            )
        registry.add(spec)
    return registry
