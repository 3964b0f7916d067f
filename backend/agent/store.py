"""SQL for conversations, messages and tasks, and the lane rules the database enforces.

Invariants:
- A lane is a conversation. At most one of its tasks is `running` or `waiting_approval`
  (a partial unique index refuses a second), and a lane's queued tasks start in `queue_seq`
  order (the seq of the event that queued them), so lanes are FIFO across processes.
- A running task has a lease (`lease_owner`, `lease_expires_at`); only the lease holder may
  finish it, and an expired lease puts it back at the head of its lane.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, aliased

from backend.ledger.projection.schema import TABLES
from backend.pagination import before as keyset_before
from backend.storage.models import LANE_BUSY, Conversation, Message, Task

TERMINAL = ("completed", "failed", "cancelled")
_OPERATIONAL = frozenset(next(t.operational for t in TABLES if t.name == "tasks"))

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "queued": ("running", "cancelled", "failed"),
    "running": ("waiting_approval", "completed", "failed", "cancelled", "queued"),
    "waiting_approval": ("running", "cancelled", "failed", "queued"),
}


@dataclass(frozen=True, slots=True)
class LaneSummary:
    """One lane's state."""

    conversation_id: str
    depth: int
    running_task_id: str | None
    oldest_queued_task_id: str | None


class TaskStore:
    """Queries and conditional updates on tasks and their conversations."""

    # --- conversations and messages ---------------------------------------------------

    def conversation(self, session: Session, conversation_id: str) -> Conversation | None:
        return session.get(Conversation, conversation_id)

    def conversations_page(
        self,
        session: Session,
        *,
        user_id: str | None,
        before: tuple[str, str] | None,
        limit: int,
    ) -> Sequence[Conversation]:
        """Conversations, most recently active first (`updated_at`, then id); `user_id`
        None for every user's; `before` is the (updated_at, id) cursor."""
        query = select(Conversation)
        if user_id is not None:
            query = query.where(Conversation.user_id == user_id)
        if before is not None:
            query = query.where(keyset_before(Conversation.updated_at, Conversation.id, before))
        return session.scalars(
            query.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit)
        ).all()

    def history(
        self, session: Session, conversation_id: str, before_seq: int, limit: int
    ) -> list[Message]:
        """The last `limit` messages of a conversation before `before_seq`, oldest first."""
        rows = session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.seq < before_seq)
            .order_by(Message.seq.desc())
            .limit(limit)
        ).all()
        return list(reversed(rows))

    # --- tasks ------------------------------------------------------------------------

    def get(self, session: Session, task_id: str) -> Task | None:
        return session.get(Task, task_id)

    def by_idempotency_key(self, session: Session, user_id: str, key: str) -> Task | None:
        return session.scalar(
            select(Task).where(Task.user_id == user_id, Task.idempotency_key == key)
        )

    def page(
        self,
        session: Session,
        *,
        user_id: str | None,
        conversation_id: str | None,
        status: str | None,
        before: tuple[str, str] | None,
        limit: int,
    ) -> Sequence[Task]:
        """Tasks newest first, filtered; `before` is the (created_at, id) cursor."""
        query = select(Task)
        if user_id is not None:
            query = query.where(Task.user_id == user_id)
        if conversation_id is not None:
            query = query.where(Task.conversation_id == conversation_id)
        if status is not None:
            query = query.where(Task.status == status)
        if before is not None:
            query = query.where(keyset_before(Task.created_at, Task.id, before))
        return session.scalars(
            query.order_by(Task.created_at.desc(), Task.id.desc()).limit(limit)
        ).all()

    def next_claimable(self, session: Session, now: str) -> Task | None:
        """The oldest queued task that heads its lane, in a lane with nothing busy."""
        busy = aliased(Task)
        earlier = aliased(Task)
        query = (
            select(Task)
            .where(
                Task.status == "queued",
                ~exists().where(
                    busy.conversation_id == Task.conversation_id, busy.status.in_(LANE_BUSY)
                ),
                ~exists().where(
                    earlier.conversation_id == Task.conversation_id,
                    earlier.status == "queued",
                    earlier.queue_seq < Task.queue_seq,
                ),
            )
            .order_by(Task.queue_seq)
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Task)
        return session.scalar(query)

    def transition(self, task: Task, to: str, **operational: object) -> None:
        """Check that `task` may move to `to` and set its operational columns. The status
        and every column the move explains are written by the `TaskEvent` the caller
        appends next (backend.ledger.projection.agent.on_task)."""
        allowed = TRANSITIONS.get(task.status, ())
        if to not in allowed:
            raise ValueError(f"task {task.id}: {task.status} -> {to} is not allowed")
        for name, value in operational.items():
            if name not in _OPERATIONAL:
                raise ValueError(f"tasks.{name} is written by the ledger's projection")
            setattr(task, name, value)

    def renew_leases(
        self, session: Session, owner: str, task_ids: list[str], until: str
    ) -> list[str]:
        """Extend this owner's leases; return the ids it still holds."""
        if not task_ids:
            return []
        session.execute(
            update(Task)
            .where(Task.id.in_(task_ids), Task.lease_owner == owner, Task.status == "running")
            .values(lease_expires_at=until)
        )
        return list(
            session.scalars(
                select(Task.id).where(
                    Task.id.in_(task_ids), Task.lease_owner == owner, Task.status == "running"
                )
            )
        )

    def cancel_requested(self, session: Session, task_ids: list[str]) -> list[str]:
        if not task_ids:
            return []
        return list(
            session.scalars(
                select(Task.id).where(Task.id.in_(task_ids), Task.cancel_requested.is_(True))
            )
        )

    def running_leases(self, session: Session) -> Sequence[Task]:
        """Every running task, to check whose leases lapsed, locked (on PostgreSQL) so a
        lease renewed meanwhile is seen before the task is put back."""
        return session.scalars(
            select(Task).where(Task.status == "running").with_for_update(of=Task)
        ).all()

    def lanes(self, session: Session, user_id: str | None) -> list[LaneSummary]:
        """Lanes with queued or busy work."""
        active = ("queued", *LANE_BUSY)
        query = select(Task.conversation_id, Task.id, Task.status, Task.queue_seq).where(
            Task.status.in_(active)
        )
        if user_id is not None:
            query = query.where(Task.user_id == user_id)
        lanes: dict[str, list[tuple[str, str, int]]] = {}
        for cid, tid, status, seq in session.execute(query.order_by(Task.queue_seq)):
            lanes.setdefault(cid, []).append((tid, status, seq))
        out = []
        for cid, tasks in lanes.items():
            running = next((t for t, s, _ in tasks if s in LANE_BUSY), None)
            queued = [t for t, s, _ in tasks if s == "queued"]
            out.append(LaneSummary(cid, len(tasks), running, queued[0] if queued else None))
        return out

    def count_by_status(self, session: Session) -> dict[str, int]:
        rows = session.execute(select(Task.status, func.count()).group_by(Task.status))
        return {status: int(n) for status, n in rows}
