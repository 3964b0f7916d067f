"""Which handler explains each event type: the one dispatch both the live writes
(`live.project`) and the rebuild (`Projection.apply`) go through."""

from __future__ import annotations

from collections.abc import Callable

from backend.ledger.events import EventType, StoredEvent
from backend.ledger.projection.agent import on_completion, on_input, on_task, on_user
from backend.ledger.projection.config import on_patch
from backend.ledger.projection.memory import on_memory
from backend.ledger.projection.state import Target
from backend.ledger.projection.tools import on_approval, on_tool_call

__all__ = ["apply_event"]

Handler = Callable[[Target, StoredEvent], None]

_HANDLERS: dict[str, Handler] = {
    EventType.USER: on_user,
    EventType.INPUT: on_input,
    EventType.TASK: on_task,
    EventType.COMPLETION: on_completion,
    EventType.TOOL_CALL: on_tool_call,
    EventType.APPROVAL: on_approval,
    EventType.PATCH: on_patch,
    EventType.MEMORY: on_memory,
}


def apply_event(state: Target, event: StoredEvent) -> None:
    """Change `state` as `event` explains; events no handler knows change nothing."""
    handler = _HANDLERS.get(event.type)
    if handler is not None:
        handler(state, event)
