"""The sections of a task's report that gather several events each: the route and its
fallbacks, memories read and written, tool calls with their approvals, errors, state changes.

Invariants:
- Pure functions of a task's events in seq order; nothing outside the ledger is consulted.
- A tool call is keyed by its `tool_call_id`; its fields are merged from its
  `ToolCallEvent`s and `ApprovalEvent`s in seq order, so a later phase wins (a call that was
  interrupted and run again shows its last run).
- Unknown phases and event types are kept, not dropped: a `FallbackEvent` or a new tool-call
  phase shows up with its payload before this module learns its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backend.agent.recall import RECALL_PHASES
from backend.ledger.events import EventType, StoredEvent

__all__ = ["errors", "memories", "route", "state_changes", "tool_calls"]

# Tool-call phases after which a call has stopped (whatever the outcome).
_ENDED = ("completed", "failed", "rejected", "expired", "refused", "ambiguous", "interrupted")


def _where(event: StoredEvent) -> dict[str, Any]:
    return {"event_id": event.event_id, "ts": event.ts, "actor": event.actor.as_dict()}


def route(events: Sequence[StoredEvent]) -> dict[str, Any]:
    """The backend and model the task was routed to and why, with any fallbacks."""
    chosen = next((e for e in events if e.type == EventType.ROUTE), None)
    p = chosen.payload if chosen else {}
    return {
        "event_id": chosen.event_id if chosen else None,
        "ts": chosen.ts if chosen else None,
        "backend": p.get("backend"),
        "model": p.get("model"),
        "requested_model": p.get("requested_model"),
        "reason": p.get("reason"),
        "fallbacks": [
            {**_where(e), "reason": e.payload.get("reason"), "payload": e.payload}
            for e in events
            if e.type == EventType.FALLBACK
        ],
    }


def memories(events: Sequence[StoredEvent]) -> dict[str, list[dict[str, Any]]]:
    """What the task read from memory (recall) and what it wrote (candidates, items)."""
    read: list[dict[str, Any]] = []
    written: list[dict[str, Any]] = []
    for e in events:
        if e.type != EventType.MEMORY:
            continue
        p = e.payload
        if p.get("phase") in RECALL_PHASES:
            read.append(
                {
                    **_where(e),
                    "phase": p.get("phase"),
                    "items": p.get("items", []),
                    "reason": p.get("reason"),
                    "model": p.get("model"),
                    "top_k": p.get("top_k"),
                    "min_score": p.get("min_score"),
                }
            )
            continue
        keys = ("memory_id", "candidate_id", "text", "kind", "confidence", "origin", "source")
        more = ("reasons", "supersedes", "reason")
        written.append({**_where(e), "phase": p.get("phase"), **{k: p.get(k) for k in keys + more}})
    return {"read": read, "written": written}


def _new_call(call_id: str, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "tool_call_id": call_id,
        "tool": p.get("tool"),
        "risk": p.get("risk"),
        "step": None,
        "args": None,
        "decision": None,
        "policy_reason": None,
        "status": None,
        "result": None,
        "error": None,
        "duration_ms": None,
        "requested_at": None,
        "requested_by": None,
        "started_at": None,
        "finished_at": None,
        "approval": None,
        "events": [],
    }


def _apply_call(call: dict[str, Any], e: StoredEvent) -> None:
    p = e.payload
    phase = p.get("phase")
    call["status"] = phase
    if phase in ("requested", "refused"):
        call["requested_at"], call["requested_by"] = e.ts, e.actor.as_dict()
        call["args"] = p.get("args", p.get("arguments"))
        call["decision"] = p.get("decision", "refused" if phase == "refused" else None)
        call["policy_reason"] = p.get("policy")
        call["step"] = p.get("step")
    if phase == "started":
        # A run again after an interruption starts afresh.
        call["started_at"], call["finished_at"] = e.ts, None
        call["result"] = call["error"] = call["duration_ms"] = None
    if phase in _ENDED:
        call["finished_at"] = e.ts
    for key in ("result", "error", "duration_ms"):
        if key in p:
            call[key] = p[key]
    if phase == "rejected" and p.get("reason") and not call["error"]:
        call["error"] = f"rejected: {p['reason']}"


def _apply_approval(call: dict[str, Any], e: StoredEvent) -> None:
    p = e.payload
    approval = call["approval"]
    if approval is None:
        approval = call["approval"] = {
            "approval_id": p.get("approval_id"),
            "status": None,
            "requested_at": None,
            "requested_by": None,
            "expires_at": None,
            "decision": None,
            "decided_by": None,
            "decided_at": None,
            "reason": None,
            "events": [],
        }
    phase = p.get("phase")
    approval["status"] = "pending" if phase == "requested" else phase
    approval["events"].append(e.event_id)
    if phase == "requested":
        approval["requested_at"], approval["requested_by"] = e.ts, e.actor.as_dict()
        approval["expires_at"] = p.get("expires_at")
    else:
        # Who decided is the event's actor: it carries the role, which `decided_by` (a user
        # id) does not; an expiry is decided by the system.
        approval["decision"], approval["decided_at"] = phase, e.ts
        approval["decided_by"] = e.actor.as_dict()
        approval["reason"] = p.get("reason")
    if call["args"] is None and "args" in p:
        call["args"] = p["args"]


def tool_calls(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """One entry per tool call, in the order the calls were first recorded."""
    calls: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.type not in (EventType.TOOL_CALL, EventType.APPROVAL):
            continue
        call_id = str(e.payload.get("tool_call_id"))
        call = calls.setdefault(call_id, _new_call(call_id, e.payload))
        call["tool"] = e.payload.get("tool", call["tool"])
        call["risk"] = e.payload.get("risk", call["risk"])
        call["events"].append(e.event_id)
        if e.type == EventType.TOOL_CALL:
            _apply_call(call, e)
        else:
            _apply_approval(call, e)
    return list(calls.values())


def errors(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """The task's `ErrorEvent`s."""
    return [
        {
            **_where(e),
            "code": e.payload.get("code"),
            "message": e.payload.get("message"),
            "retryable": e.payload.get("retryable"),
        }
        for e in events
        if e.type == EventType.ERROR
    ]


def state_changes(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """The task's `TaskEvent`s: each status it moved to, from what, and why."""
    return [
        {
            **_where(e),
            "status": e.payload.get("status"),
            "from": e.payload.get("from"),
            "phase": e.payload.get("phase"),
            "reason": e.payload.get("reason"),
            "attempt": e.payload.get("attempt"),
            "approval_id": e.payload.get("approval_id"),
        }
        for e in events
        if e.type == EventType.TASK
    ]
