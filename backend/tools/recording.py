"""The ledger entries of tools and approvals: what was asked, decided, run and returned,
with who did it and what caused it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from backend.auth.principal import Principal
from backend.ledger.events import Actor, EventType, NewEvent
from backend.ledger.projection.tools import MAX_RESULT_CHARS, dump_value
from backend.ledger.store import LedgerStore
from backend.storage.models import Approval, ToolCall
from backend.tools.registry import Risk, ToolSpec

__all__ = [
    "MAX_RESULT_CHARS",
    "approval_event",
    "approval_requested_event",
    "call_event",
    "dump_value",
    "policy_reason",
    "refusal_event",
    "requested_event",
]


def call_event(
    ledger: LedgerStore,
    s: Session,
    call: ToolCall,
    actor: Actor,
    phase: str,
    cause: str | None,
    **extra: Any,
) -> str:
    """Append a `ToolCallEvent` for `call`; returns its event id."""
    payload = {"phase": phase, "tool_call_id": call.id, "tool": call.tool, "risk": call.risk}
    payload.update(extra)
    event = ledger.append(
        s,
        NewEvent(
            EventType.TOOL_CALL,
            payload,
            actor=actor,
            conversation_id=call.conversation_id,
            task_id=call.task_id,
            causation_id=cause,
        ),
    )
    return event.event_id


def requested_event(
    ledger: LedgerStore,
    s: Session,
    call_id: str,
    spec: ToolSpec,
    principal: Principal,
    cause: str | None,
    where: tuple[str | None, str | None],
    **extra: Any,
) -> str:
    """Append a call's `requested` event, which makes its row; `where` is its
    (conversation, task). Returns the event id."""
    payload = {"phase": "requested", "tool_call_id": call_id, "tool": spec.name}
    payload |= {"risk": str(spec.risk), **extra}
    conversation_id, task_id = where
    event = ledger.append(
        s,
        NewEvent(
            EventType.TOOL_CALL,
            payload,
            actor=principal.actor,
            conversation_id=conversation_id,
            task_id=task_id,
            causation_id=cause,
        ),
    )
    return event.event_id


def approval_requested_event(
    ledger: LedgerStore,
    s: Session,
    approval_id: str,
    call: ToolCall,
    principal: Principal,
    cause: str,
    at: str,
    expires_at: str,
) -> str:
    """Append the `requested` event of an approval, which makes its row and links the call
    to it. Returns the event id."""
    payload = {
        "phase": "requested",
        "approval_id": approval_id,
        "tool_call_id": call.id,
        "tool": call.tool,
        "risk": call.risk,
        "args": json.loads(call.args),
        "decided_by": None,
        "reason": None,
        "at": at,
        "expires_at": expires_at,
    }
    event = ledger.append(
        s,
        NewEvent(
            EventType.APPROVAL,
            payload,
            actor=principal.actor,
            conversation_id=call.conversation_id,
            task_id=call.task_id,
            causation_id=cause,
        ),
    )
    return event.event_id


def approval_event(
    ledger: LedgerStore,
    s: Session,
    approval: Approval,
    call: ToolCall,
    actor: Actor,
    phase: str,
    cause: str | None,
    **extra: Any,
) -> str:
    """Append an `ApprovalEvent`; returns its event id."""
    payload = {
        "phase": phase,
        "approval_id": approval.id,
        "tool_call_id": call.id,
        "tool": call.tool,
        "risk": call.risk,
        "args": json.loads(call.args),
        "decided_by": approval.decided_by,
        "reason": approval.reason,
    }
    payload.update(extra)
    event = ledger.append(
        s,
        NewEvent(
            EventType.APPROVAL,
            payload,
            actor=actor,
            conversation_id=call.conversation_id,
            task_id=call.task_id,
            causation_id=cause,
        ),
    )
    return event.event_id


def refusal_event(
    ledger: LedgerStore, s: Session, claimed: Any, call: dict[str, str], why: str, cause: str | None
) -> None:
    """Append the refusal of a model's tool call that could not run (unknown, bad args)."""
    payload = {
        "phase": "refused",
        "tool_call_id": f"{claimed.task_id}:{call['id']}",
        "tool": call["name"],
        "arguments": call["arguments"],
        "error": why,
    }
    ledger.append(
        s,
        NewEvent(
            EventType.TOOL_CALL,
            payload,
            conversation_id=claimed.conversation_id,
            task_id=claimed.task_id,
            causation_id=cause,
        ),
    )


def policy_reason(risk: Risk, principal: Principal) -> str:
    """Why the policy decided as it did, in words."""
    if risk == Risk.READ_ONLY:
        return "read_only tools run at once"
    if risk == Risk.LOCAL_WRITE:
        return (
            "local_write runs at once for the owner"
            if principal.is_owner
            else "local_write needs the owner's approval for a member"
        )
    return "external_write always needs the owner's approval"
