"""Listing conversations: the caller's (every one for the owner), most recently active first.

Pages are keyset-paginated on (`updated_at`, id). A conversation that receives a message
while a client pages moves to the front: it may then appear on an earlier page again or be
skipped by later ones, which is what "most recently active first" means for a live list.
"""

from __future__ import annotations

from typing import Any

from backend.agent.store import TaskStore
from backend.auth.principal import Principal
from backend.pagination import parse_cursor
from backend.storage.db import Database
from backend.storage.models import Conversation


def conversation_public(conversation: Conversation) -> dict[str, Any]:
    """The Conversation resource."""
    return {
        "id": conversation.id,
        "title": conversation.title,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
    }


def list_conversations(
    db: Database, tasks: TaskStore, principal: Principal, cursor: str | None, limit: int
) -> dict[str, Any]:
    """`{data, next_cursor}`: a member's own conversations, or every one for the owner."""
    before = parse_cursor(cursor)
    with db.read() as s:
        rows = tasks.conversations_page(
            s,
            user_id=None if principal.is_owner else principal.user_id,
            before=before,
            limit=limit + 1,
        )
        data = [conversation_public(c) for c in rows[:limit]]
    after = None
    if len(rows) > limit:
        last = rows[limit - 1]
        after = f"{last.updated_at}|{last.id}"
    return {"data": data, "next_cursor": after}
