"""What tool call and approval events mean for `tool_calls` and `approvals`.

Invariants (mirroring `backend.tools.service`):
- A call's row is made by its `requested` event: `pending_approval` if the policy asked for
  approval, else `running`; its owner is the event's actor. `refused` calls (unknown tool,
  bad arguments) never had a row.
- `started` (re)starts it; `completed`, `failed`, `rejected`, `expired`, `interrupted` and
  `ambiguous` set its status with their result or error.
- An approval's row is made by its `requested` event (which also links the call to it) and
  decided once by `approved`, `rejected` or `expired`.
"""

from __future__ import annotations

import json
from typing import Any

from backend.ledger.events import StoredEvent
from backend.ledger.projection.state import Target, at

__all__ = ["MAX_RESULT_CHARS", "dump_value", "on_approval", "on_tool_call"]

_ENDED = ("rejected", "expired", "interrupted", "ambiguous")

MAX_RESULT_CHARS = 64_000


def dump_value(value: Any) -> str:
    """Arguments or a result as stored: JSON, cut at `MAX_RESULT_CHARS`."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    if len(text) > MAX_RESULT_CHARS:
        text = json.dumps({"truncated": True, "text": text[:MAX_RESULT_CHARS]})
    return text


def on_tool_call(state: Target, ev: StoredEvent) -> None:
    p = ev.payload
    phase, call_id = p.get("phase"), p.get("tool_call_id")
    calls = state.table("tool_calls")
    if phase == "requested":
        calls[call_id] = {
            "id": call_id,
            "tool": p["tool"],
            "args": dump_value(p.get("args")),
            "risk": p["risk"],
            "status": "pending_approval" if p.get("decision") == "needs_approval" else "running",
            "result": None,
            "error": None,
            "approval_id": None,
            "user_id": ev.actor.id,
            "conversation_id": ev.conversation_id,
            "task_id": ev.task_id,
            "model_call_id": p.get("model_call_id"),
            "step": p.get("step"),
            "executor": None,
            "created_at": at(ev),
            "started_at": None,
            "finished_at": None,
            "duration_ms": None,
        }
        return
    call = calls.get(call_id)
    if call is None:
        return
    if phase == "started":
        call["status"], call["started_at"] = "running", at(ev)
    elif phase in ("completed", "failed"):
        call["status"] = phase
        call["result"] = dump_value(p.get("result")) if phase == "completed" else None
        call["error"] = p.get("error")
        call["finished_at"] = at(ev)
        call["duration_ms"] = p.get("duration_ms")
    elif phase in _ENDED:
        call["status"], call["error"] = phase, p.get("error")
        if phase in ("rejected", "expired"):
            call["finished_at"] = at(ev)


def on_approval(state: Target, ev: StoredEvent) -> None:
    p = ev.payload
    phase, approval_id = p.get("phase"), p.get("approval_id")
    approvals = state.table("approvals")
    if phase == "requested":
        approvals[approval_id] = {
            "id": approval_id,
            "tool_call_id": p["tool_call_id"],
            "task_id": ev.task_id,
            "conversation_id": ev.conversation_id,
            "status": "pending",
            "requested_by": ev.actor.id,
            "decided_by": None,
            "reason": None,
            "created_at": at(ev),
            "decided_at": None,
            "expires_at": p.get("expires_at"),
        }
        call = state.table("tool_calls").get(p["tool_call_id"])
        if call is not None:
            call["approval_id"] = approval_id
        return
    approval = approvals.get(approval_id)
    if approval is not None and phase in ("approved", "rejected", "expired"):
        approval["status"] = phase
        approval["decided_by"] = p.get("decided_by")
        approval["reason"] = p.get("reason")
        approval["decided_at"] = at(ev)
