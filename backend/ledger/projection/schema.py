"""Which columns of each state table are projections of the ledger, and which are not.

Invariants:
- A projection column's value follows from the ledger's events alone (`backend.ledger
  .projection` computes it); `steward ledger rebuild` compares exactly these columns.
- An operational column is bookkeeping that is not a fact about what happened: who holds a
  lease and until when, when a row was last touched, the hash that deduplicates a retried
  request, which process executes a tool call. It is filled with a neutral value in a
  rebuilt database and never compared.
- Tables that are not here are not projections: `api_tokens` (token hashes deliberately
  never enter the ledger, so tokens cannot be rebuilt: a restored Steward issues new ones),
  `tools_registry` (a mirror of the live tool registry, rewritten at every start),
  `embedding_cache` (a cache of model output), `ledger_events` and `ledger_head` (the
  ledger itself).
- JSON columns are compared as parsed JSON, so the formatting of the text does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.memory.records import SHARED_COLUMNS

__all__ = ["TABLES", "TableSpec"]


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One projected table: its key, the columns compared, and how."""

    name: str
    key: str
    columns: tuple[str, ...]
    json_columns: tuple[str, ...] = ()
    operational: tuple[str, ...] = ()


_MEMORY_SHARED = (*SHARED_COLUMNS, "status", "created_at", "updated_at")

# In insertion order: a table comes after the tables its foreign keys point to.
TABLES: tuple[TableSpec, ...] = (
    TableSpec("users", "id", ("id", "name", "role", "created_at")),
    TableSpec("conversations", "id", ("id", "user_id", "title", "created_at", "updated_at")),
    TableSpec(
        "tasks",
        "id",
        (
            "id",
            "conversation_id",
            "user_id",
            "status",
            "input_text",
            "reply",
            "error",
            "attempts",
            "config_revision",
            "queue_seq",
            "cancel_requested",
            "created_at",
            "started_at",
            "finished_at",
        ),
        json_columns=("error",),
        operational=(
            "idempotency_key",
            "request_hash",
            "lease_owner",
            "lease_expires_at",
            "updated_at",
        ),
    ),
    TableSpec(
        "messages",
        "id",
        ("id", "conversation_id", "task_id", "role", "content", "seq", "created_at"),
    ),
    TableSpec(
        "tool_calls",
        "id",
        (
            "id",
            "tool",
            "args",
            "risk",
            "status",
            "result",
            "error",
            "approval_id",
            "user_id",
            "conversation_id",
            "task_id",
            "model_call_id",
            "step",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
        ),
        json_columns=("args", "result"),
        operational=("executor",),
    ),
    TableSpec(
        "approvals",
        "id",
        (
            "id",
            "tool_call_id",
            "task_id",
            "conversation_id",
            "status",
            "requested_by",
            "decided_by",
            "reason",
            "created_at",
            "decided_at",
            "expires_at",
        ),
    ),
    TableSpec("config_seed", "id", ("id", "data", "created_at"), json_columns=("data",)),
    TableSpec(
        "config_patches",
        "id",
        (
            "id",
            "scope",
            "text",
            "ops",
            "changes",
            "risk",
            "rationale",
            "intents",
            "status",
            "base_revision",
            "revision_id",
            "proposed_by",
            "created_at",
        ),
        json_columns=("ops", "changes", "intents"),
    ),
    TableSpec(
        "config_revisions",
        "id",
        (
            "id",
            "seq",
            "scope",
            "kind",
            "patch_id",
            "rolls_back",
            "changes",
            "committed_by",
            "created_at",
        ),
        json_columns=("changes",),
    ),
    TableSpec(
        "memory_items",
        "id",
        (
            "id",
            "key",
            *_MEMORY_SHARED,
            "candidate_id",
            "supersedes",
            "superseded_by",
            "deleted_by",
            "deleted_at",
        ),
        json_columns=("impact",),
    ),
    TableSpec(
        "memory_candidates",
        "id",
        (
            "id",
            *_MEMORY_SHARED,
            "reasons",
            "supersedes",
            "memory_id",
            "decided_by",
            "decided_at",
            "reason",
        ),
        json_columns=("impact", "reasons"),
    ),
)
