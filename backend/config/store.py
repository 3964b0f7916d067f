"""SQL for the seed, patches and revisions.

Invariants:
- Revisions are only ever added (a rollback is a new revision); `seq` is global and
  increasing, so "commit order" is `seq` order.
- A patch moves from `proposed` to `committed` once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.config.schema import seed
from backend.storage.models import ConfigPatch, ConfigRevision, ConfigSeed


def patch_public(patch: ConfigPatch) -> dict[str, Any]:
    """The Patch resource."""
    return {
        "patch_id": patch.id,
        "scope": patch.scope,
        "text": patch.text,
        "ops": json.loads(patch.ops),
        "risk": patch.risk,
        "diff": json.loads(patch.changes),
        "rationale": patch.rationale,
        "intents": json.loads(patch.intents),
        "status": patch.status,
        "base_revision": patch.base_revision,
        "revision_id": patch.revision_id,
        "proposed_by": patch.proposed_by,
        "created_at": patch.created_at,
    }


def revision_public(rev: ConfigRevision) -> dict[str, Any]:
    """The Revision resource."""
    return {
        "revision_id": rev.id,
        "seq": rev.seq,
        "scope": rev.scope,
        "kind": rev.kind,
        "patch_id": rev.patch_id,
        "rolls_back": rev.rolls_back,
        "changes": json.loads(rev.changes),
        "committed_by": rev.committed_by,
        "created_at": rev.created_at,
    }


class ConfigStore:
    """Queries on the config tables."""

    def seed(self, session: Session) -> dict[str, Any]:
        row = session.get(ConfigSeed, 1)
        data: dict[str, Any] = json.loads(row.data) if row else seed()
        return data

    def seeded(self, session: Session) -> bool:
        """Whether the seed is stored."""
        return session.get(ConfigSeed, 1) is not None

    def revisions(self, session: Session, scopes: list[str]) -> Sequence[ConfigRevision]:
        return session.scalars(
            select(ConfigRevision)
            .where(ConfigRevision.scope.in_(scopes))
            .order_by(ConfigRevision.seq)
        ).all()

    def page(
        self, session: Session, scope: str | None, before_seq: int | None, limit: int
    ) -> Sequence[ConfigRevision]:
        query = select(ConfigRevision)
        if scope is not None:
            query = query.where(ConfigRevision.scope == scope)
        if before_seq is not None:
            query = query.where(ConfigRevision.seq < before_seq)
        return session.scalars(query.order_by(ConfigRevision.seq.desc()).limit(limit)).all()

    def revision(self, session: Session, revision_id: str) -> ConfigRevision | None:
        return session.get(ConfigRevision, revision_id)

    def rolled_back_by(self, session: Session, revision_id: str) -> ConfigRevision | None:
        return session.scalar(
            select(ConfigRevision).where(ConfigRevision.rolls_back == revision_id)
        )

    def next_seq(self, session: Session) -> int:
        return int(session.scalar(select(func.coalesce(func.max(ConfigRevision.seq), 0))) or 0) + 1

    def patch(self, session: Session, patch_id: str) -> ConfigPatch | None:
        return session.get(ConfigPatch, patch_id)

    def patches(self, session: Session, status: str | None, limit: int) -> Sequence[ConfigPatch]:
        query = select(ConfigPatch)
        if status is not None:
            query = query.where(ConfigPatch.status == status)
        return session.scalars(query.order_by(ConfigPatch.created_at.desc()).limit(limit)).all()
