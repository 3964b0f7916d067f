"""The rules of memory (SPEC §7): write through the candidate policy, review candidates,
delete items, and recall.

Invariants:
- Every change is a `MemoryEvent` appended in the same transaction as the rows it explains
  (phases `stored`, `merged`, `candidate_proposed`, `candidate_merged`, `candidate_approved`,
  `candidate_rejected`, `deleted`, and `recalled` for what a task read); each event carries
  what a rebuild needs (text, kind, confidence, origin, impact, provenance), except that the
  text of anything that may hold a credential is redacted (its SHA-256 stays).
- Provenance: `source_event_id` is the event that produced the memory (the tool call that
  wrote it, or the write itself), with the task, conversation and actor.
- Only the owner approves, rejects or deletes; a member reads and writes only their own
  memory, and what a member writes is a candidate for the owner.
- A deleted item stays deleted: it is never returned again, and rewriting the same text
  from a tool or the model only ever proposes a candidate.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.orm import Session

from backend.auth.principal import Principal
from backend.clock import now_text
from backend.config.service import ConfigService
from backend.errors import Conflict, Forbidden, NotFound
from backend.ids import new_id
from backend.ledger.events import EventType, NewEvent, StoredEvent
from backend.ledger.store import LedgerStore
from backend.memory.embeddings import content_hash
from backend.memory.policy import Decision, Neighbour, decide
from backend.memory.records import Facts, WriteContext, merge_payload
from backend.memory.search import Hit, MemorySearch
from backend.memory.signals import estimated_confidence, high_impact
from backend.memory.store import MemoryFilters, MemoryStore, candidate_public, item_public
from backend.pagination import next_cursor, parse_cursor
from backend.storage.db import Database
from backend.storage.models import MemoryCandidate, MemoryItem

__all__ = ["MemoryService", "WriteContext"]

_NEIGHBOURS = 8


class MemoryService:
    """Memory's use cases, called by routes, the agent loop and the memory tools."""

    def __init__(
        self, db: Database, ledger: LedgerStore, config: ConfigService, search: MemorySearch
    ):
        self.db = db
        self.ledger = ledger
        self.config = config
        self.search = search
        self.store = MemoryStore()

    # --- write ------------------------------------------------------------------------

    async def write(
        self,
        principal: Principal,
        text: str,
        *,
        kind: str = "fact",
        confidence: float | None = None,
        ctx: WriteContext | None = None,
    ) -> dict[str, Any]:
        """Store, merge or propose `text` by the candidate policy; the outcome and why."""
        ctx = ctx or WriteContext()
        text = " ".join(text.split())
        settings = await asyncio.to_thread(self._memory_config, principal, ctx)
        if not settings.enabled:
            raise Conflict(
                "Memory is turned off in the configuration, so nothing new is remembered. "
                "Turn it on with the preference 'remember things again'.",
                code="memory_disabled",
            )
        impact = high_impact(text)
        sure = confidence if confidence is not None else estimated_confidence(text, ctx.origin)
        model, vector = await self.search.embed(text)
        items = await self.search.nearest(
            principal.user_id, model, vector, _NEIGHBOURS, MemoryFilters()
        )
        pending = await self.search.pending_near(principal.user_id, model, vector)
        decision = decide(
            text,
            origin=ctx.origin,
            confidence=sure,
            threshold=settings.confidence_threshold,
            impact=impact,
            by_owner=principal.is_owner,
            items=[Neighbour(h.item.id, h.item.text, h.score) for h in items],
            candidates=[Neighbour(c.id, c.text, score) for c, score in pending],
        )
        facts = Facts(text, kind, sure, impact, ctx)
        outcome, key = await asyncio.to_thread(self._apply, principal, facts, decision)
        if key is not None:
            await asyncio.to_thread(self.search.vectors.add, model, [key], vector[None, :])
        return outcome

    def _memory_config(self, principal: Principal, ctx: WriteContext) -> Any:
        with self.db.read() as s:
            eff = self.config.for_user(s, principal.user_id, ctx.conversation_id)
        return eff.config.memory

    def _apply(
        self, principal: Principal, facts: Facts, decision: Decision
    ) -> tuple[dict[str, Any], int | None]:
        with self.db.write() as s:
            same = self.store.by_hash(s, principal.user_id, content_hash(facts.text))
            if same and decision.action != "merge_item":
                decision = Decision("merge_item", same[0].id)
            if decision.action == "merge_item":
                return self._merge_item(s, principal, facts, decision), None
            if decision.action == "merge_candidate":
                return self._merge_candidate(s, principal, facts, decision), None
            if decision.action == "candidate":
                return self._propose(s, principal, facts, decision), None
            item = self._store_item(s, principal, facts)
            return {"status": "stored", "memory": item_public(item), "reasons": []}, item.key

    # Each event below makes or changes the rows it explains (backend.ledger.projection
    # .memory); the service decides and records, the projection writes.

    def _event(
        self,
        s: Session,
        principal: Principal,
        payload: dict[str, Any],
        ctx: WriteContext,
        facts: Facts | None = None,
    ) -> StoredEvent:
        return self.ledger.append(
            s,
            NewEvent(
                EventType.MEMORY,
                payload,
                actor=principal.actor,
                conversation_id=ctx.conversation_id,
                task_id=ctx.task_id,
                causation_id=ctx.cause,
                withheld=facts.withheld() if facts else {},
            ),
        )

    def _store_item(self, s: Session, principal: Principal, facts: Facts) -> MemoryItem:
        memory_id = new_id("mem")
        payload = {"phase": "stored", "memory_id": memory_id, **facts.payload()}
        self._event(s, principal, payload, facts.ctx, facts)
        item = self.store.item(s, memory_id)
        assert item is not None
        return item

    def _propose(
        self, s: Session, principal: Principal, facts: Facts, decision: Decision
    ) -> dict[str, Any]:
        candidate_id = new_id("cand")
        payload = {
            "phase": "candidate_proposed",
            "candidate_id": candidate_id,
            **facts.payload(),
            "reasons": decision.reasons,
            "supersedes": decision.supersedes,
        }
        self._event(s, principal, payload, facts.ctx, facts)
        cand = self.store.candidate(s, candidate_id)
        assert cand is not None
        superseded = self.store.item(s, decision.supersedes) if decision.supersedes else None
        return {
            "status": "candidate",
            "candidate": candidate_public(cand, superseded),
            "reasons": decision.reasons,
        }

    def _merge_item(
        self, s: Session, principal: Principal, facts: Facts, decision: Decision
    ) -> dict[str, Any]:
        item = self.store.item(s, decision.target or "")
        assert item is not None
        confidence = item.confidence
        if facts.ctx.origin == "user" and principal.is_owner:
            confidence = max(confidence, facts.confidence)
        payload = merge_payload("merged", item, facts, confidence) | {"at": now_text()}
        self._event(s, principal, payload, facts.ctx)
        return {"status": "merged", "memory": item_public(item), "reasons": ["duplicate"]}

    def _merge_candidate(
        self, s: Session, principal: Principal, facts: Facts, decision: Decision
    ) -> dict[str, Any]:
        cand = self.store.candidate(s, decision.target or "")
        assert cand is not None
        confidence = max(cand.confidence, facts.confidence)
        payload = merge_payload("candidate_merged", cand, facts, confidence) | {"at": now_text()}
        self._event(s, principal, payload, facts.ctx)
        superseded = self.store.item(s, cand.supersedes) if cand.supersedes else None
        return {
            "status": "candidate",
            "candidate": candidate_public(cand, superseded),
            "reasons": ["duplicate_of_candidate"],
        }

    # --- review -----------------------------------------------------------------------

    async def approve(
        self, principal: Principal, candidate_id: str, reason: str | None
    ) -> dict[str, Any]:
        """Owner: the candidate becomes an item (superseding the one it contradicts)."""
        _owner_only(principal, "approve memory candidates")
        item, stale = await asyncio.to_thread(self._approve, principal, candidate_id, reason)
        model, vector = await self.search.embed(item.text)
        await asyncio.to_thread(self.search.vectors.add, model, [item.key], vector[None, :])
        await asyncio.to_thread(self.search.vectors.discard, stale)
        return self.get_candidate(principal, candidate_id)

    def _approve(
        self, principal: Principal, candidate_id: str, reason: str | None
    ) -> tuple[MemoryItem, list[int]]:
        with self.db.write() as s:
            cand = self._pending(s, candidate_id)
            memory_id = new_id("mem")
            old = self.store.item(s, cand.supersedes) if cand.supersedes else None
            replaces = old.id if old is not None and old.status == "active" else None
            payload = {
                "phase": "candidate_approved",
                "candidate_id": cand.id,
                "memory_id": memory_id,
                "supersedes": replaces,
                "reason": reason,
            }
            ctx = WriteContext(task_id=cand.task_id, conversation_id=cand.conversation_id)
            self._event(s, principal, payload, ctx)
            item = self.store.item(s, memory_id)
            assert item is not None
            return item, [old.key] if old is not None and replaces is not None else []

    def reject(self, principal: Principal, candidate_id: str, reason: str | None) -> dict[str, Any]:
        """Owner: the candidate is not remembered."""
        _owner_only(principal, "reject memory candidates")
        with self.db.write() as s:
            cand = self._pending(s, candidate_id)
            payload = {"phase": "candidate_rejected", "candidate_id": cand.id, "reason": reason}
            ctx = WriteContext(task_id=cand.task_id, conversation_id=cand.conversation_id)
            self._event(s, principal, payload, ctx)
        return self.get_candidate(principal, candidate_id)

    def _pending(self, s: Session, candidate_id: str) -> MemoryCandidate:
        cand = self.store.candidate(s, candidate_id)
        if cand is None:
            raise NotFound(f"No memory candidate '{candidate_id}'.", code="candidate_not_found")
        if cand.status != "pending":
            raise Conflict(
                f"The candidate '{candidate_id}' was already {cand.status}.",
                code="candidate_decided",
                candidate_status=cand.status,
            )
        return cand

    def delete(self, principal: Principal, memory_id: str, reason: str | None) -> dict[str, Any]:
        """Owner: forget an item for good (recorded; deleting twice changes nothing)."""
        _owner_only(principal, "delete memories")
        with self.db.write() as s:
            item = self.store.item(s, memory_id)
            if item is None:
                raise NotFound(f"No memory item '{memory_id}'.", code="memory_not_found")
            if item.status == "active":
                payload = {"phase": "deleted", "memory_id": item.id, "reason": reason}
                ctx = WriteContext(conversation_id=item.conversation_id)
                self._event(s, principal, payload, ctx)
            body = item_public(item)
            key = item.key
        self.search.vectors.discard([key])
        return body

    # --- read -------------------------------------------------------------------------

    async def query(
        self, principal: Principal, text: str, top_k: int, filters: MemoryFilters
    ) -> list[dict[str, Any]]:
        """The asker's nearest active items, best first, with scores."""
        hits = await self.search.query(principal.user_id, text, top_k, filters)
        return [item_public(h.item, h.score) for h in hits]

    async def recall(self, user_id: str, text: str, top_k: int, min_score: float) -> list[Hit]:
        """What the agent reads into a prompt: relevant items, never ones holding secrets."""
        if top_k <= 0:
            return []
        return await self.search.query(user_id, text, top_k, min_score=min_score, skip_secrets=True)

    def list_items(
        self,
        principal: Principal,
        status: str | None,
        filters: MemoryFilters,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        with self.db.read() as s:
            rows = self.store.page_items(
                s,
                user_id=None if principal.is_owner else principal.user_id,
                status=status,
                filters=filters,
                cursor=parse_cursor(cursor),
                limit=limit + 1,
            )
            data = [item_public(i) for i in rows[:limit]]
        return {"data": data, "next_cursor": next_cursor(rows, limit)}

    def get_item(self, principal: Principal, memory_id: str) -> dict[str, Any]:
        with self.db.read() as s:
            item = self.store.item(s, memory_id)
            if item is None or not principal.may_see(item.user_id):
                raise NotFound(f"No memory item '{memory_id}'.", code="memory_not_found")
            return item_public(item)

    def list_candidates(
        self, principal: Principal, status: str | None, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        with self.db.read() as s:
            rows = self.store.page_candidates(
                s,
                user_id=None if principal.is_owner else principal.user_id,
                status=status,
                cursor=parse_cursor(cursor),
                limit=limit + 1,
            )
            data = [self._candidate(s, c) for c in rows[:limit]]
        return {"data": data, "next_cursor": next_cursor(rows, limit)}

    def get_candidate(self, principal: Principal, candidate_id: str) -> dict[str, Any]:
        with self.db.read() as s:
            cand = self.store.candidate(s, candidate_id)
            if cand is None or not principal.may_see(cand.user_id):
                raise NotFound(f"No memory candidate '{candidate_id}'.", code="candidate_not_found")
            return self._candidate(s, cand)

    def _candidate(self, s: Session, cand: MemoryCandidate) -> dict[str, Any]:
        superseded = self.store.item(s, cand.supersedes) if cand.supersedes else None
        return candidate_public(cand, superseded)


def _owner_only(principal: Principal, what: str) -> None:
    if not principal.is_owner:
        raise Forbidden(f"Only the owner may {what}.", code="owner_only")
