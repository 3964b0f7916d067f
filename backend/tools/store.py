"""SQL for tool calls, approvals and the `tools_registry` table.

Invariants:
- A tool call's id is its idempotency key: the row is written before anything runs, so a
  repeat finds it and never runs the tool again.
- An approval moves out of `pending` once, by a conditional update inside a write
  transaction; every later decision finds it decided (409).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.pagination import before as keyset_before
from backend.storage.models import Approval, Task, ToolCall, ToolRecord
from backend.tools.registry import ToolSpec


def call_public(call: ToolCall) -> dict[str, Any]:
    """The ToolCall resource."""
    return {
        "tool_call_id": call.id,
        "tool": call.tool,
        "args": json.loads(call.args),
        "risk": call.risk,
        "status": call.status,
        "result": json.loads(call.result) if call.result is not None else None,
        "error": call.error,
        "approval_id": call.approval_id,
        "task_id": call.task_id,
        "conversation_id": call.conversation_id,
        "created_at": call.created_at,
        "started_at": call.started_at,
        "finished_at": call.finished_at,
        "duration_ms": call.duration_ms,
    }


def approval_public(approval: Approval, call: ToolCall | None = None) -> dict[str, Any]:
    """The Approval resource (with its tool call when given)."""
    body: dict[str, Any] = {
        "approval_id": approval.id,
        "tool_call_id": approval.tool_call_id,
        "task_id": approval.task_id,
        "conversation_id": approval.conversation_id,
        "status": approval.status,
        "requested_by": approval.requested_by,
        "decided_by": approval.decided_by,
        "reason": approval.reason,
        "created_at": approval.created_at,
        "decided_at": approval.decided_at,
        "expires_at": approval.expires_at,
    }
    if call is not None:
        body["tool"] = call.tool
        body["args"] = json.loads(call.args)
        body["risk"] = call.risk
        body["tool_call"] = call_public(call)
    return body


class ToolStore:
    """Queries and conditional updates on tool calls and approvals."""

    def call(self, session: Session, call_id: str) -> ToolCall | None:
        return session.get(ToolCall, call_id)

    def calls_of_task(self, session: Session, task_id: str) -> Sequence[ToolCall]:
        return session.scalars(
            select(ToolCall).where(ToolCall.task_id == task_id).order_by(ToolCall.created_at)
        ).all()

    def approval(self, session: Session, approval_id: str) -> Approval | None:
        return session.get(Approval, approval_id)

    def approvals(
        self,
        session: Session,
        *,
        status: str | None,
        user_id: str | None,
        before: tuple[str, str] | None,
        limit: int,
    ) -> Sequence[Approval]:
        """Approvals, pending first then newest first."""
        query = select(Approval)
        if status is not None:
            query = query.where(Approval.status == status)
        if user_id is not None:
            query = query.where(Approval.requested_by == user_id)
        if before is not None:
            query = query.where(keyset_before(Approval.created_at, Approval.id, before))
        return session.scalars(
            query.order_by(Approval.created_at.desc(), Approval.id.desc()).limit(limit)
        ).all()

    def pending_of_task(self, session: Session, task_id: str) -> int:
        return len(
            session.scalars(
                select(Approval.id).where(Approval.task_id == task_id, Approval.status == "pending")
            ).all()
        )

    def expired_pending(self, session: Session, now: str) -> Sequence[Approval]:
        """Pending approvals past their expiry, locked until the transaction ends."""
        return session.scalars(
            select(Approval)
            .where(Approval.status == "pending", Approval.expires_at < now)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()

    def lock_approval(self, session: Session, approval_id: str) -> Approval | None:
        """An approval as it is now, locked until the transaction ends: a decision is taken
        by one transaction at a time, so it is taken once (SQLite's write transactions are
        exclusive anyway; PostgreSQL blocks here)."""
        return session.scalar(
            select(Approval)
            .where(Approval.id == approval_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    def stranded_waits(self, session: Session) -> list[tuple[str, str | None]]:
        """Tasks waiting for approval with none pending and no approved call still running
        (a crash came between the last decision and putting the task back in its lane),
        each with its latest decided approval."""
        pending = select(Approval.id).where(
            Approval.task_id == Task.id, Approval.status == "pending"
        )
        running = select(ToolCall.id).where(
            ToolCall.task_id == Task.id, ToolCall.status == "running"
        )
        latest = (
            select(Approval.id)
            .where(Approval.task_id == Task.id)
            .order_by(Approval.created_at.desc(), Approval.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        rows = session.execute(
            select(Task.id, latest).where(
                Task.status == "waiting_approval", ~pending.exists(), ~running.exists()
            )
        ).all()
        return [(task_id, approval_id) for task_id, approval_id in rows]

    def interrupted(self, session: Session) -> Sequence[ToolCall]:
        """Calls that were running (intent recorded, no receipt)."""
        return session.scalars(select(ToolCall).where(ToolCall.status == "running")).all()

    def sync_registry(self, session: Session, specs: list[ToolSpec], now: str) -> None:
        """Make `tools_registry` mirror the live registry."""
        session.execute(delete(ToolRecord))
        for spec in specs:
            session.add(
                ToolRecord(
                    name=spec.name,
                    risk=str(spec.risk),
                    description=spec.description,
                    schema=json.dumps(spec.schema, sort_keys=True),
                    source=spec.source,
                    updated_at=now,
                )
            )
