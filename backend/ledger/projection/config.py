"""What patch events mean for `config_seed`, `config_patches` and `config_revisions`.

Invariants (mirroring `backend.config.service`):
- `seeded` stores the seed once and adds the first revision (`kind` seed, by `system`).
- `proposed` adds a patch; `committed` marks it and adds its revision with the patch's
  field-level diff; `rolled_back` adds a revision restoring earlier values.
- A revision's `seq` is its place among revisions: revisions are only ever added.
"""

from __future__ import annotations

import json

from backend.ledger.events import StoredEvent
from backend.ledger.projection.state import Target, at, dump

__all__ = ["on_patch"]


def _revision(state: Target, ev: StoredEvent, **columns: object) -> None:
    state.revisions += 1
    row = {
        "id": ev.payload["revision_id"],
        "seq": state.revisions,
        "patch_id": None,
        "rolls_back": None,
        "committed_by": ev.actor.id,
        "created_at": at(ev),
        **columns,
    }
    state.table("config_revisions")[row["id"]] = row


def on_patch(state: Target, ev: StoredEvent) -> None:
    p = ev.payload
    phase = p.get("phase")
    if phase == "seeded":
        seed = {"id": 1, "data": json.dumps(p["seed"], sort_keys=True), "created_at": at(ev)}
        state.table("config_seed")[1] = seed
        _revision(state, ev, scope="global", kind="seed", changes="[]", committed_by="system")
    elif phase == "proposed":
        state.table("config_patches")[p["patch_id"]] = {
            "id": p["patch_id"],
            "scope": p["scope"],
            "text": p["text"],
            "ops": dump(p["ops"]),
            "changes": dump(p["diff"]),
            "risk": p["risk"],
            "rationale": p["rationale"],
            "intents": dump(p.get("intents", [])),
            "status": "proposed",
            "base_revision": p.get("base_revision"),
            "revision_id": None,
            "proposed_by": ev.actor.id,
            "created_at": at(ev),
        }
    elif phase == "committed":
        patch = state.table("config_patches").get(p["patch_id"])
        if patch is not None:
            patch["status"], patch["revision_id"] = "committed", p["revision_id"]
        _revision(
            state,
            ev,
            scope=p["scope"],
            kind="commit",
            changes=dump(p["diff"]),
            patch_id=p["patch_id"],
        )
    elif phase == "rolled_back":
        _revision(
            state,
            ev,
            scope=p["scope"],
            kind="rollback",
            changes=dump(p["changes"]),
            rolls_back=p["rolls_back"],
        )
