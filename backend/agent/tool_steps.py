"""One tool call the model asked for, run under the same policy as a direct call.

Invariants:
- The call's id is `<task id>:<model's call id>`, so a resumed task finds the recorded
  outcome and never runs a call twice.
- Whatever the model or a tool's output says, the call goes through `ToolService.execute`,
  whose policy holds external writes for the owner; at most an approval is requested.
- Unknown tools and arguments that are not JSON or break the schema are not run: the model
  is told what was wrong, and the refusal is recorded.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.tools.registry import ArgumentsInvalid

if TYPE_CHECKING:
    from backend.agent.loop import Claimed
    from backend.tools.service import ToolService

MAX_TOOL_CONTENT = 4000


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """A tool call as the model asked for it."""

    id: str
    name: str
    arguments: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


def assistant_turn(text: str | None, calls: list[ToolCallRequest]) -> dict[str, Any]:
    """The assistant message that asked for `calls`."""
    return {
        "role": "assistant",
        "content": text,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ],
    }


def _content(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_TOOL_CONTENT else text[:MAX_TOOL_CONTENT] + " …(truncated)"


async def run_tool_call(
    tools: ToolService,
    claimed: Claimed,
    principal: Principal,
    call: ToolCallRequest,
    step: int,
    cause: str,
    allowed: set[str],
    policy: dict[str, Any],
) -> str | None:
    """The tool message content for `call`, or None while it awaits the owner's approval.
    A tool the config turned off (`allowed` lacks it) is refused like an unknown one."""
    try:
        args = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        return await _refuse(tools, claimed, call, cause, f"arguments are not valid JSON ({exc})")
    if call.name not in allowed and tools.registry.get(call.name) is not None:
        why = f"the tool '{call.name}' is turned off in the configuration"
        return await _refuse(tools, claimed, call, cause, why)
    try:
        outcome = await tools.execute(
            principal,
            call.name,
            args,
            f"{claimed.task_id}:{call.id}",
            conversation_id=claimed.conversation_id,
            task_id=claimed.task_id,
            model_call_id=call.id,
            step=step,
            cause=cause,
            policy=policy,
        )
    except NotFound:
        return await _refuse(tools, claimed, call, cause, f"there is no tool named '{call.name}'")
    except ArgumentsInvalid as exc:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
        return await _refuse(tools, claimed, call, cause, f"invalid arguments: {detail}")
    status = outcome["status"]
    if status == "pending_approval":
        return None
    if status == "completed":
        return _content(outcome["result"])
    if status == "running":
        raise RuntimeError(f"tool call {call.id} is still running in another process")
    return _content({"error": outcome["error"] or status, "status": status})


async def _refuse(
    tools: ToolService, claimed: Claimed, call: ToolCallRequest, cause: str, why: str
) -> str:
    await asyncio.to_thread(tools.record_refusal, claimed, call.as_dict(), why, cause)
    return _content({"error": why, "status": "refused"})
