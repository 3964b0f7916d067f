"""Audit reports: load a task's or a conversation's events, decide who may see them, verify
them, and render the report as json, markdown or html.

Invariants:
- Content comes from `ledger_events` only (`AuditStore`). Ownership comes from the task's
  `InputEvent` actor (the user who sent the message) or the `conversations` row.
- Someone who may not see a task or conversation gets the same 404 as for an unknown id, so
  ids of other users' work are not confirmed to exist.
- Each report says whether its events verify against the hash chain around them; a broken
  link is reported, never raised, so a tampered ledger can still be read and explained.
- Everything a report or a verification reads is one read session, one snapshot on SQLite
  and PostgreSQL alike (`Database.read`), so events, their neighbours' hashes and the
  chain's head agree even while Edge appends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from backend.audit.integrity import integrity, neighbour_seqs
from backend.audit.render_html import render_html
from backend.audit.render_markdown import render_markdown
from backend.audit.report import conversation_report, task_report
from backend.audit.store import AuditStore
from backend.auth.principal import Principal
from backend.errors import NotFound
from backend.ledger.events import EventType, StoredEvent
from backend.ledger.store import LedgerStore
from backend.storage.db import Database

__all__ = ["AuditService", "Format", "Rendered"]

Format = Literal["json", "markdown", "html"]

_MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """A report in one format, ready to send."""

    body: str
    media_type: str


def _owner(events: Sequence[StoredEvent]) -> str | None:
    given = next((e for e in events if e.type == EventType.INPUT), None)
    return given.actor.id if given else None


class AuditService:
    """Builds audit reports for the principal asking."""

    def __init__(self, db: Database, store: AuditStore | None = None):
        self.db = db
        self.store = store or AuditStore()

    def verify(self) -> dict[str, Any]:
        """Walk the whole hash chain up to its head; report the first broken link, if any."""
        with self.db.read() as s:
            return LedgerStore().verify(s).public()

    def task(self, principal: Principal, task_id: str) -> dict[str, Any]:
        """The report of a task the principal may see, or `NotFound`."""
        with self.db.read() as s:
            events = self.store.task_events(s, task_id)
            owner = _owner(events)
            if owner is None or not principal.may_see(owner):
                raise NotFound(f"No task '{task_id}'.", code="task_not_found")
            links = self.store.links(s, neighbour_seqs(events))
        return task_report(events, integrity(events, links))

    def conversation(self, principal: Principal, conversation_id: str) -> dict[str, Any]:
        """The report of a conversation the principal may see, or `NotFound`."""
        with self.db.read() as s:
            owner = self.store.conversation_owner(s, conversation_id)
            if owner is None or not principal.may_see(owner):
                raise NotFound(
                    f"No conversation '{conversation_id}'.", code="conversation_not_found"
                )
            events = self.store.conversation_events(s, conversation_id)
            links = self.store.links(s, neighbour_seqs(events))
        by_task: dict[str, list[StoredEvent]] = {}
        others: list[StoredEvent] = []
        for e in events:
            if e.task_id is None:
                others.append(e)
            else:
                by_task.setdefault(e.task_id, []).append(e)
        # Dicts keep insertion order, so tasks come in the order their first event was
        # recorded: the order the messages were sent.
        tasks = [task_report(evs, integrity(evs, links)) for evs in by_task.values()]
        return conversation_report(conversation_id, tasks, others, integrity(events, links))

    def render(
        self,
        principal: Principal,
        *,
        task_id: str | None = None,
        conversation_id: str | None = None,
        fmt: Format = "json",
    ) -> Rendered:
        """The report of exactly one of `task_id` / `conversation_id`, in `fmt`."""
        if (task_id is None) == (conversation_id is None):
            raise ValueError("give exactly one of task_id and conversation_id")
        if task_id is not None:
            report = self.task(principal, task_id)
        else:
            assert conversation_id is not None
            report = self.conversation(principal, conversation_id)
        if fmt == "markdown":
            body = render_markdown(report)
        elif fmt == "html":
            body = render_html(report)
        else:
            body = json.dumps(report, ensure_ascii=False, default=str)
        return Rendered(body, _MEDIA_TYPES[fmt])
