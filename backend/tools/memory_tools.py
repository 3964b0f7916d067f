"""The memory tools the agent can call: `memory_query` (read_only) and `memory_write`
(local_write).

Invariants:
- They act as the user the task runs for, through the same `MemoryService` as the API, so
  every rule holds: only that user's active items are found, and what the model writes has
  origin `model` and so is always a candidate for the owner's review, never trusted memory.
- A write's provenance is the tool call's `started` event, its task and conversation.
"""

from __future__ import annotations

from typing import Any

from backend.auth.principal import Principal
from backend.memory.records import WriteContext
from backend.memory.store import MemoryFilters
from backend.tools.errors import ToolError
from backend.tools.registry import ToolContext, tool

__all__ = ["memory_query", "memory_write"]

_MAX_RESULTS = 20


def _memory(ctx: ToolContext) -> Any:
    if ctx.memory is None:
        raise ToolError("memory is not available in this process")
    return ctx.memory


@tool(
    "memory_query",
    "read_only",
    "Searches what Steward remembers about its user (facts, preferences, people, plans). "
    "Returns the closest memories, best first, each with its text, kind and a similarity "
    "score between -1 and 1.",
)
async def memory_query(query: str, ctx: ToolContext, top_k: int = 5) -> list[dict[str, Any]]:
    if not query.strip():
        raise ToolError("the query is empty; say what to look for")
    k = max(1, min(top_k, _MAX_RESULTS))
    hits = await _memory(ctx).search.query(
        ctx.user_id, query, k, MemoryFilters(), skip_secrets=True
    )
    return [
        {
            "memory_id": h.item.id,
            "text": h.item.text,
            "kind": h.item.kind,
            "score": round(h.score, 4),
        }
        for h in hits
    ]


@tool(
    "memory_write",
    "local_write",
    "Proposes something to remember about the user, such as a fact or a preference they "
    "stated. It becomes a candidate the owner reviews before Steward relies on it. Returns "
    "what happened: candidate, or merged into something already known.",
)
async def memory_write(text: str, ctx: ToolContext, kind: str = "fact") -> dict[str, Any]:
    if not text.strip():
        raise ToolError("the text is empty; say what to remember")
    if len(text) > 2000:
        raise ToolError("the text is over 2000 characters; remember something shorter")
    principal = Principal(ctx.user_id, ctx.user_id, ctx.role)
    outcome = await _memory(ctx).write(
        principal,
        text,
        kind=kind if kind.isidentifier() and len(kind) <= 40 else "fact",
        ctx=WriteContext(
            origin="model",
            source=f"tool:{ctx.tool_call_id}",
            task_id=ctx.task_id,
            conversation_id=ctx.conversation_id,
            cause=ctx.event_id,
        ),
    )
    record = outcome.get("memory") or outcome.get("candidate") or {}
    return {
        "status": outcome["status"],
        "id": record.get("memory_id") or record.get("candidate_id"),
        "reasons": outcome["reasons"],
    }
