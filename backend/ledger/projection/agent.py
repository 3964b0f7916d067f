"""What user, input, task and completion events mean for `users`, `conversations`,
`messages` and `tasks`.

Invariants (mirroring the live writes in `backend.auth.store`, `backend.agent.service`,
`backend.agent.worker` and `backend.agent.loop`):
- An `InputEvent` with a task creates the task (`queued`, `queue_seq` = the event's seq),
  the user's message (seq = the event's seq) and, the first time, the conversation, whose
  title is the text's first 80 characters with white space collapsed.
- A task's owner is the input event's actor; `attempts` is the attempt of its latest run;
  `started_at` is its first run's; `reply` is its completion's text.
- An assistant message's id is its `CompletionEvent`'s id with `msg_` for `evt_`.
"""

from __future__ import annotations

from typing import Any

from backend.ledger.events import StoredEvent
from backend.ledger.projection.state import Target, at, dump

__all__ = ["on_completion", "on_input", "on_task", "on_user"]


def on_user(state: Target, ev: StoredEvent) -> None:
    p = ev.payload
    if p.get("phase") != "created":
        return  # token rotations change api_tokens only, which the ledger does not explain
    state.table("users")[p["user_id"]] = {
        "id": p["user_id"],
        "name": p["name"],
        "role": p["role"],
        "created_at": at(ev),
    }


def on_input(state: Target, ev: StoredEvent) -> None:
    p = ev.payload
    text = p.get("text")
    if ev.task_id is None or ev.conversation_id is None or not isinstance(text, str):
        return  # not a submitted message (nothing else appends InputEvents today)
    stamp, cid = at(ev), ev.conversation_id
    conversations = state.table("conversations")
    conv = conversations.get(cid)
    if conv is None:
        conversations[cid] = {
            "id": cid,
            "user_id": ev.actor.id,
            "title": " ".join(text.split())[:80],
            "created_at": stamp,
            "updated_at": stamp,
        }
    else:
        conv["updated_at"] = stamp
    state.table("tasks")[ev.task_id] = {
        "id": ev.task_id,
        "conversation_id": cid,
        "user_id": ev.actor.id,
        "status": "queued",
        "input_text": text,
        "reply": None,
        "error": None,
        "attempts": 0,
        "config_revision": None,
        "queue_seq": ev.seq,
        "cancel_requested": False,
        "created_at": stamp,
        "started_at": None,
        "finished_at": None,
        "idempotency_key": None,
        "request_hash": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": stamp,
    }
    message_id = p.get("message_id") or ev.event_id.replace("evt_", "msg_")
    state.table("messages")[message_id] = {
        "id": message_id,
        "conversation_id": cid,
        "task_id": ev.task_id,
        "role": "user",
        "content": text,
        "seq": ev.seq,
        "created_at": stamp,
    }


def on_completion(state: Target, ev: StoredEvent) -> None:
    if ev.task_id is None or ev.conversation_id is None:
        return
    text = ev.payload.get("text")
    message_id = ev.event_id.replace("evt_", "msg_")
    state.table("messages")[message_id] = {
        "id": message_id,
        "conversation_id": ev.conversation_id,
        "task_id": ev.task_id,
        "role": "assistant",
        "content": text,
        "seq": ev.seq,
        "created_at": ev.ts,
    }
    state.pending_reply[ev.task_id] = message_id
    task = state.table("tasks").get(ev.task_id)
    if task is not None:
        task["reply"] = text


def on_task(state: Target, ev: StoredEvent) -> None:
    task = state.table("tasks").get(ev.task_id)
    if task is None:
        return
    p = ev.payload
    task["updated_at"] = ev.ts
    if p.get("phase") == "cancel_requested":
        task["cancel_requested"] = True
        return
    status = p.get("status")
    if not isinstance(status, str) or (status == "queued" and p.get("from") is None):
        return  # the `queued` that follows the input: the input event made the row
    task["status"] = status
    if status == "running":
        task["attempts"] = p.get("attempt", task["attempts"])
        task["started_at"] = task["started_at"] or at(ev)
    elif status == "completed":
        task["finished_at"] = at(ev)
        task["config_revision"] = p.get("config_revision")
        reply = state.pending_reply.pop(task["id"], None)
        if reply is not None:
            state.table("messages")[reply]["created_at"] = at(ev)
    elif status in ("failed", "cancelled"):
        task["finished_at"] = at(ev)
        error: Any = p.get("error")
        if error is not None:
            task["error"] = dump(error)
        elif p.get("from") == "running":
            task["error"] = None  # a run that ended without an error clears any earlier one
