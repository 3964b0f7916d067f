"""Tasks straight through Edge's services, without HTTP or a model: a migrated database with
its owner, and the last write of a task the agent loop makes (used by the claim tests and
`bench.scale`)."""

from __future__ import annotations

from backend.agent.loop import Claimed
from backend.agent.service import AgentService
from backend.agent.store import TaskStore
from backend.auth.principal import Principal
from backend.auth.store import UserStore
from backend.clock import now_text
from backend.ledger.events import EventType, NewEvent
from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from tests.agent.conftest import OWNER_TOKEN


def owner_service(db: Database) -> tuple[Principal, AgentService]:
    """Migrate `db`, create the owner, and return it with an `AgentService` to submit as it."""
    db.migrate()
    ledger = LedgerStore()
    users = UserStore(ledger)
    with db.write() as s:
        users.ensure_owner(s, OWNER_TOKEN)
    with db.read() as s:
        owner = users.resolve(s, OWNER_TOKEN)
    assert owner is not None
    return owner, AgentService(db, ledger, TaskStore())


def finish(db: Database, ledger: LedgerStore, tasks: TaskStore, claimed: Claimed) -> None:
    """Complete a claimed task as the agent loop's last write does."""
    with db.write() as s:
        task = tasks.get(s, claimed.task_id)
        assert task is not None
        tasks.transition(task, "completed", lease_owner=None, lease_expires_at=None)
        ledger.append(
            s,
            NewEvent(
                EventType.TASK,
                {"status": "completed", "from": "running", "at": now_text()},
                conversation_id=claimed.conversation_id,
                task_id=claimed.task_id,
                causation_id=ledger.last_event_id(s, claimed.task_id),
            ),
        )
