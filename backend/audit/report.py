"""An audit report: why a task answered as it did, from its ledger events alone (SPEC §4).

Invariants:
- Pure: a report is a function of the events given and of the integrity verdict the caller
  computed for them (`backend.audit.integrity`); no table but the ledger feeds it, so the
  report reads the same after every state table has been lost or edited.
- Events are used in seq order whatever order they are given in.
- Timings come from the events' own `ts` (the ledger's clock, which never goes backwards)
  and from the durations the events recorded (`duration_ms`); none are measured here.
- The shape is the same for every format; markdown and html only render it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.audit import sections
from backend.audit.timeline import entry, timeline, tree
from backend.ledger.events import EventType, StoredEvent

__all__ = ["conversation_report", "task_report"]

_TERMINAL = ("completed", "failed", "cancelled")
_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


def _ms(start: str | None, end: str | None) -> float | None:
    if start is None or end is None:
        return None
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return round(delta.total_seconds() * 1000, 1)


def _first(events: Sequence[StoredEvent], type_: EventType) -> StoredEvent | None:
    return next((e for e in events if e.type == type_), None)


def _last(events: Sequence[StoredEvent], type_: EventType) -> StoredEvent | None:
    return next((e for e in reversed(events) if e.type == type_), None)


def _plan(events: Sequence[StoredEvent]) -> dict[str, Any]:
    """The task's plan (recorded once) and each model turn that asked for tools."""
    plans = [e for e in events if e.type == EventType.PLAN]
    first = next((e for e in plans if e.payload.get("phase") != "tool_calls"), None)
    p = first.payload if first else {}
    return {
        "event_id": first.event_id if first else None,
        "ts": first.ts if first else None,
        "steps": p.get("steps", []),
        "tools_offered": p.get("tools", []),
        "max_steps": p.get("max_steps"),
        "history_messages": p.get("history_messages"),
        "config_revision": p.get("config_revision"),
        "attempt": p.get("attempt"),
        "turns": [
            {
                "event_id": e.event_id,
                "ts": e.ts,
                "step": e.payload.get("step"),
                "text": e.payload.get("text"),
                "tool_calls": e.payload.get("tool_calls", []),
                "usage": e.payload.get("usage"),
            }
            for e in plans
            if e.payload.get("phase") == "tool_calls"
        ],
    }


def _usage(events: Sequence[StoredEvent]) -> dict[str, Any]:
    """Tokens over every model call of the task: the tool-asking turns and the completion."""
    calls = [
        e
        for e in events
        if e.type == EventType.COMPLETION
        or (e.type == EventType.PLAN and e.payload.get("phase") == "tool_calls")
    ]
    total = dict.fromkeys(_USAGE_KEYS, 0)
    for e in calls:
        usage = e.payload.get("usage") or {}
        for key in _USAGE_KEYS:
            value = usage.get(key)
            total[key] += value if isinstance(value, int) else 0
    return {**total, "model_calls": len(calls)}


def _time_in_status(changes: list[dict[str, Any]]) -> dict[str, float]:
    """How long the task spent in each status, from one state change to the next; the
    current status of a task still under way is not counted, as it has no end yet."""
    spent: dict[str, float] = {}
    for i, here in enumerate(changes):
        ms = _ms(here["ts"], changes[i + 1]["ts"] if i + 1 < len(changes) else None)
        if here["status"] not in (None, *_TERMINAL) and ms is not None:
            spent[here["status"]] = round(spent.get(here["status"], 0.0) + ms, 1)
    return spent


def _summary(events: Sequence[StoredEvent], calls: list[dict[str, Any]]) -> dict[str, Any]:
    changes = sections.state_changes(events)
    statuses = [c for c in changes if c["status"] is not None]
    started = next((c["ts"] for c in statuses if c["status"] == "running"), None)
    ended = [c["ts"] for c in statuses if c["status"] in _TERMINAL]
    finished = ended[-1] if ended else None
    attempts = [c["attempt"] for c in statuses if isinstance(c["attempt"], int)]
    runs = sum(1 for c in statuses if c["status"] == "running" and c["from"] == "queued")
    given = _first(events, EventType.INPUT)
    created = given.ts if given else (events[0].ts if events else None)
    completion = _last(events, EventType.COMPLETION)
    done = completion.payload if completion else {}
    plan = _first(events, EventType.PLAN)
    return {
        "task_id": events[0].task_id if events else None,
        "conversation_id": events[0].conversation_id if events else None,
        "status": statuses[-1]["status"] if statuses else None,
        "created_at": created,
        "started_at": started,
        "finished_at": finished,
        "attempts": max(attempts) if attempts else runs,
        "config_revision": plan.payload.get("config_revision") if plan else None,
        "input": {
            "event_id": given.event_id if given else None,
            "text": given.payload.get("text") if given else None,
            "message_id": given.payload.get("message_id") if given else None,
            "by": given.actor.as_dict() if given else None,
        },
        "reply": done.get("text"),
        "finish_reason": done.get("finish_reason"),
        "model": done.get("model"),
        "usage": _usage(events),
        "durations": {
            "queue_wait_ms": _ms(created, started),
            "run_ms": _ms(started, finished),
            "total_ms": _ms(created, finished),
            "model_ms": done.get("duration_ms"),
            "time_in_status_ms": _time_in_status(statuses),
            "tools": [
                {"tool_call_id": c["tool_call_id"], "tool": c["tool"], "ms": c["duration_ms"]}
                for c in calls
            ],
        },
    }


def task_report(events: Sequence[StoredEvent], integrity: dict[str, Any]) -> dict[str, Any]:
    """The report of one task from its events; `integrity` is their verification."""
    ordered = sorted(events, key=lambda e: e.seq)
    calls = sections.tool_calls(ordered)
    return {
        "kind": "task",
        "task": _summary(ordered, calls),
        "plan": _plan(ordered),
        "route": sections.route(ordered),
        "memories": sections.memories(ordered),
        "tool_calls": calls,
        "errors": sections.errors(ordered),
        "state_changes": sections.state_changes(ordered),
        "timeline": timeline(ordered),
        "tree": tree(ordered),
        "integrity": integrity,
    }


def conversation_report(
    conversation_id: str,
    tasks: Sequence[dict[str, Any]],
    others: Sequence[StoredEvent],
    integrity: dict[str, Any],
) -> dict[str, Any]:
    """The report of a conversation: each task's report in order, the conversation's events
    that belong to no task, and the integrity of all its events together."""
    return {
        "kind": "conversation",
        "conversation_id": conversation_id,
        "tasks": list(tasks),
        "other_events": [entry(e) for e in sorted(others, key=lambda e: e.seq)],
        "integrity": integrity,
    }
