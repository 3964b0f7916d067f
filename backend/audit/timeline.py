"""A task's events as a timeline (seq order) and as a causal tree (by `causation_id`).

Invariants:
- Pure functions of the events given; every event appears exactly once in each view.
- A tree root is an event whose cause is null or is not among the events given (a decision
  made from outside the task, such as the owner approving a call); children are in seq order.
- Summaries are one line of plain text; renderers escape them for their format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from backend.ledger.events import EventType, StoredEvent

__all__ = ["clip", "entry", "event_phase", "summary", "timeline", "tree"]

_CLIP = 80


def clip(value: Any, limit: int = _CLIP) -> str:
    """`value` as one line of at most `limit` characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_phase(event: StoredEvent) -> str | None:
    """The step of a multi-step fact: the payload's `phase`, else its `status`."""
    value = event.payload.get("phase") or event.payload.get("status")
    return None if value is None else str(value)


def _input(p: dict[str, Any]) -> str:
    return f"input: {clip(p.get('text', ''))}"


def _plan(p: dict[str, Any]) -> str:
    if p.get("phase") == "tool_calls":
        names = ", ".join(str(c.get("name")) for c in p.get("tool_calls", []))
        return f"step {p.get('step')}: the model asks for {names or 'no tools'}"
    return (
        f"plan: {len(p.get('steps', []))} steps, {len(p.get('tools', []))} tools offered, "
        f"config {p.get('config_revision')}, attempt {p.get('attempt')}"
    )


def _route(p: dict[str, Any]) -> str:
    return f"route: {p.get('backend')} / {p.get('model')} ({clip(p.get('reason', ''), 60)})"


def _memory(p: dict[str, Any]) -> str:
    phase = p.get("phase")
    if phase == "recalled":
        return f"recalled {len(p.get('items', []))} memories"
    if phase == "recall_skipped":
        return f"recall skipped: {clip(p.get('reason', ''), 60)}"
    what = p.get("text") or p.get("memory_id") or p.get("candidate_id") or ""
    return f"memory {phase}: {clip(what, 60)}"


def _tool_call(p: dict[str, Any]) -> str:
    phase = p.get("phase")
    line = f"{p.get('tool')} {phase}"
    if phase == "requested":
        line += f": {p.get('decision')} ({p.get('policy')})"
    elif phase == "completed":
        line += f" in {p.get('duration_ms')} ms"
    elif p.get("error"):
        line += f": {clip(p['error'], 60)}"
    return line


def _approval(p: dict[str, Any]) -> str:
    line = f"approval {p.get('approval_id')} {p.get('phase')} for {p.get('tool')}"
    if p.get("decided_by"):
        line += f" by {p['decided_by']}"
    if p.get("reason"):
        line += f": {clip(p['reason'], 60)}"
    return line


def _completion(p: dict[str, Any]) -> str:
    tokens = (p.get("usage") or {}).get("total_tokens")
    return f"completion ({p.get('finish_reason')}, {tokens} tokens): {clip(p.get('text', ''), 60)}"


def _task(p: dict[str, Any]) -> str:
    line = f"task {p.get('from') or 'new'} -> {p.get('status')}"
    if p.get("phase"):
        line += f" ({p['phase']})"
    if p.get("reason"):
        line += f": {clip(p['reason'], 60)}"
    return line


def _error(p: dict[str, Any]) -> str:
    return f"error {p.get('code')}: {clip(p.get('message', ''), 70)}"


def _fallback(p: dict[str, Any]) -> str:
    return f"fallback: {clip(p.get('reason', ''), 70)}"


_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    EventType.INPUT: _input,
    EventType.PLAN: _plan,
    EventType.ROUTE: _route,
    EventType.MEMORY: _memory,
    EventType.TOOL_CALL: _tool_call,
    EventType.APPROVAL: _approval,
    EventType.COMPLETION: _completion,
    EventType.TASK: _task,
    EventType.ERROR: _error,
    EventType.FALLBACK: _fallback,
}


def summary(event: StoredEvent) -> str:
    """One line saying what `event` records."""
    if "unreadable_payload" in event.payload:
        return f"{event.type}: the payload is not valid JSON"
    describe = _SUMMARIES.get(event.type)
    if describe is None:
        # Types this report does not know yet still get a readable line.
        phase = event_phase(event)
        return f"{event.type}{' ' + phase if phase else ''}"
    return describe(event.payload)


def entry(event: StoredEvent) -> dict[str, Any]:
    """One timeline row: the envelope, a summary and the payload."""
    return {
        "event_id": event.event_id,
        "seq": event.seq,
        "ts": event.ts,
        "type": event.type,
        "phase": event_phase(event),
        "actor": event.actor.as_dict(),
        "causation_id": event.causation_id,
        "task_id": event.task_id,
        "summary": summary(event),
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def timeline(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """Every event in seq order."""
    return [entry(e) for e in sorted(events, key=lambda e: e.seq)]


def tree(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """The events nested by cause: a list of roots, each `{event_id, seq, type, summary,
    children}`."""
    ordered = sorted(events, key=lambda e: e.seq)
    nodes: dict[str, dict[str, Any]] = {
        e.event_id: {
            "event_id": e.event_id,
            "seq": e.seq,
            "type": e.type,
            "summary": summary(e),
            "children": [],
        }
        for e in ordered
    }
    roots: list[dict[str, Any]] = []
    for e in ordered:
        parent = nodes.get(e.causation_id) if e.causation_id else None
        # A cause later than its effect can only come from an edited file; rooting it keeps
        # the tree acyclic.
        if parent is None or parent["seq"] >= e.seq:
            roots.append(nodes[e.event_id])
        else:
            parent["children"].append(nodes[e.event_id])
    return roots
