"""Propose, commit and roll back configuration changes; resolve the effective config.

Invariants:
- A proposal is compiled against the effective config of its scope and remembers the
  revision that config was at (`base_revision`); committing it when the config has moved on
  is refused (409): two commits racing from one base cannot both win.
- Only the owner commits or rolls back; an L3 patch also needs `confirm: true`.
- Rolling back revision R adds a revision that sets each path R changed back to its value
  before R. If a later revision in the same scope changed one of those paths again, the
  rollback is refused (409, naming the later revisions) unless `force` is given, in which case
  the before-R values win. History is never rewritten.
- Every step is a `PatchEvent` in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from backend.auth.principal import Principal
from backend.clock import now_text
from backend.config.compiler import NothingToChange, NotUnderstood, compile_preference
from backend.config.jsonpatch import apply_patch
from backend.config.layers import apply_changes, check_scope, field_changes
from backend.config.schema import StewardConfig, highest, risk_of_path, seed
from backend.config.store import ConfigStore, patch_public, revision_public
from backend.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.ids import new_id
from backend.ledger.events import SYSTEM, EventType, NewEvent
from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from backend.storage.models import ConfigPatch, ConfigRevision, Conversation, User


@dataclass(frozen=True, slots=True)
class Effective:
    """A resolved configuration and the newest revision in it."""

    config: StewardConfig
    data: dict[str, Any]
    revision: str | None


class ConfigService:
    """The rules of configuration."""

    def __init__(self, db: Database, ledger: LedgerStore):
        self.db = db
        self.ledger = ledger
        self.store = ConfigStore()

    # --- resolution ---------------------------------------------------------------------

    def ensure_seed(self) -> None:
        """Store the seed and its revision on first start."""
        with self.db.write() as s:
            now = now_text()
            if not self.store.ensure_seed(s, now):
                return
            rev = ConfigRevision(
                id=new_id("rev"),
                seq=self.store.next_seq(s),
                scope="global",
                kind="seed",
                changes="[]",
                committed_by="system",
                created_at=now,
            )
            s.add(rev)
            self.ledger.append(
                s,
                NewEvent(
                    EventType.PATCH,
                    {"phase": "seeded", "revision_id": rev.id, "seed": seed(), "at": now},
                ),
            )

    def _layers(self, s: Session, scope: str) -> list[str]:
        if scope == "global":
            return ["global"]
        kind, _, ident = scope.partition(":")
        if kind == "user":
            if s.get(User, ident) is None:
                raise NotFound(f"No user '{ident}'.", code="user_not_found")
            return ["global", scope]
        conv = s.get(Conversation, ident)
        if conv is None:
            raise NotFound(f"No conversation '{ident}'.", code="conversation_not_found")
        return ["global", f"user:{conv.user_id}", scope]

    def _effective(self, s: Session, scope: str) -> Effective:
        layers = self._layers(s, scope)
        data = self.store.seed(s)
        revisions = sorted(
            self.store.revisions(s, layers), key=lambda r: (layers.index(r.scope), r.seq)
        )
        for rev in revisions:
            data = apply_changes(data, json.loads(rev.changes))
        newest = max(revisions, key=lambda r: r.seq).id if revisions else None
        return Effective(StewardConfig.model_validate(data), data, newest)

    def effective(self, principal: Principal, scope: str) -> dict[str, Any]:
        check_scope(scope)
        with self.db.read() as s:
            self._check_visible(s, principal, scope)
            eff = self._effective(s, scope)
        return {"scope": scope, "revision": eff.revision, "config": eff.data}

    def for_task(self, s: Session, conversation_id: str) -> Effective:
        """The config a task runs under (its conversation's effective config)."""
        return self._effective(s, f"conversation:{conversation_id}")

    def for_user(self, s: Session, user_id: str, conversation_id: str | None = None) -> Effective:
        """The config in force for a user (in a conversation, when there is one)."""
        if conversation_id is not None:
            return self.for_task(s, conversation_id)
        return self._effective(s, f"user:{user_id}")

    def _check_visible(self, s: Session, principal: Principal, scope: str) -> None:
        if principal.is_owner or scope == "global":
            return
        kind, _, ident = scope.partition(":")
        if kind == "user" and ident == principal.user_id:
            return
        if kind == "conversation":
            conv = s.get(Conversation, ident)
            if conv is not None and conv.user_id == principal.user_id:
                return
        raise NotFound(f"No scope '{scope}' you can see.", code="scope_not_found")

    # --- patches ------------------------------------------------------------------------

    def propose(
        self, principal: Principal, text: str, scope: str, tools: list[str]
    ) -> dict[str, Any]:
        """Compile `text` into a patch for `scope` (not applied until committed)."""
        check_scope(scope)
        with self.db.write() as s:
            self._check_visible(s, principal, scope)
            eff = self._effective(s, scope)
            try:
                compiled = compile_preference(text, eff.data, tools=tools)
            except NotUnderstood as exc:
                raise Unprocessable(
                    exc.message,
                    code="preference_not_understood",
                    understood=exc.understood,
                    examples=exc.examples,
                ) from None
            except NothingToChange as exc:
                raise Unprocessable(str(exc), code="nothing_to_change") from None
            after = apply_patch(eff.data, compiled.ops)
            StewardConfig.model_validate(after)
            patch = ConfigPatch(
                id=new_id("pat"),
                scope=scope,
                text=text,
                ops=json.dumps(compiled.ops),
                changes=json.dumps(field_changes(eff.data, after)),
                risk=compiled.risk,
                rationale=compiled.rationale,
                intents=json.dumps(compiled.intents),
                status="proposed",
                base_revision=eff.revision,
                proposed_by=principal.user_id,
                created_at=now_text(),
            )
            s.add(patch)
            s.flush()
            self._event(s, principal, "proposed", patch)
            return patch_public(patch)

    def propose_ops(
        self,
        principal: Principal,
        text: str,
        scope: str,
        ops: list[dict[str, Any]],
        rationale: str,
        base_revision: str | None,
    ) -> dict[str, Any]:
        """Record a patch whose ops came from elsewhere (the model fallback), checked again
        against the config as it is now."""
        with self.db.write() as s:
            self._check_visible(s, principal, scope)
            eff = self._effective(s, scope)
            if eff.revision != base_revision:
                raise Conflict(
                    "The configuration changed meanwhile; propose again.", code="stale_patch"
                )
            after = apply_patch(eff.data, ops)
            StewardConfig.model_validate(after)
            changes = field_changes(eff.data, after)
            risk = highest([risk_of_path(c["path"]) for c in changes])
            patch = ConfigPatch(
                id=new_id("pat"),
                scope=scope,
                text=text,
                ops=json.dumps(ops),
                changes=json.dumps(changes),
                risk=risk,
                rationale=rationale,
                intents=json.dumps(["model_fallback"]),
                status="proposed",
                base_revision=eff.revision,
                proposed_by=principal.user_id,
                created_at=now_text(),
            )
            s.add(patch)
            s.flush()
            self._event(s, principal, "proposed", patch)
            return patch_public(patch)

    def effective_data(self, principal: Principal, scope: str) -> Effective:
        check_scope(scope)
        with self.db.read() as s:
            self._check_visible(s, principal, scope)
            return self._effective(s, scope)

    def get_patch(self, principal: Principal, patch_id: str) -> dict[str, Any]:
        with self.db.read() as s:
            patch = self.store.patch(s, patch_id)
            if patch is None or not principal.may_see(patch.proposed_by):
                raise NotFound(f"No patch '{patch_id}'.", code="patch_not_found")
            return patch_public(patch)

    def commit(self, principal: Principal, patch_id: str, confirm: bool) -> dict[str, Any]:
        """Apply a proposed patch as a new revision (owner only; L3 needs `confirm`)."""
        self._owner(principal)
        with self.db.write() as s:
            patch = self.store.patch(s, patch_id)
            if patch is None:
                raise NotFound(f"No patch '{patch_id}'.", code="patch_not_found")
            if patch.status != "proposed":
                raise Conflict(
                    f"Patch '{patch_id}' is already {patch.status}.", code="patch_decided"
                )
            if patch.risk == "L3" and not confirm:
                raise Unprocessable(
                    "This patch changes security settings (L3): commit it again with "
                    '{"confirm": true} if you are sure.',
                    code="confirmation_required",
                )
            eff = self._effective(s, patch.scope)
            if eff.revision != patch.base_revision:
                raise Conflict(
                    f"The configuration changed since this patch was proposed (now at "
                    f"{eff.revision}, the patch was made against {patch.base_revision}). "
                    "Propose it again.",
                    code="stale_patch",
                )
            rev = self._add_revision(
                s, principal, patch.scope, "commit", json.loads(patch.changes), patch_id=patch.id
            )
            patch.status, patch.revision_id = "committed", rev.id
            self._event(s, principal, "committed", patch, revision=rev)
            return revision_public(rev)

    def rollback(self, principal: Principal, revision_id: str, force: bool) -> dict[str, Any]:
        """Add a revision restoring the values from before `revision_id`."""
        self._owner(principal)
        with self.db.write() as s:
            target = self.store.revision(s, revision_id)
            if target is None:
                raise NotFound(f"No revision '{revision_id}'.", code="revision_not_found")
            if target.kind == "seed":
                raise Conflict(
                    "The seed is where history starts; it cannot be rolled back.", code="seed"
                )
            if self.store.rolled_back_by(s, revision_id) is not None:
                raise Conflict(
                    f"Revision '{revision_id}' was already rolled back.", code="already_rolled_back"
                )
            changes = json.loads(target.changes)
            paths = {c["path"] for c in changes}
            later = [
                r
                for r in self.store.revisions(s, [target.scope])
                if r.seq > target.seq and paths & {c["path"] for c in json.loads(r.changes)}
            ]
            if later and not force:
                raise Conflict(
                    f"Later revisions changed the same settings: "
                    f"{', '.join(r.id for r in later)}. Roll those back first, or pass "
                    '{"force": true} to restore the values from before this revision anyway.',
                    code="rollback_conflict",
                    later_revisions=[r.id for r in later],
                )
            current = self._effective(s, target.scope).data
            restore = [
                {"path": c["path"], "before": _get(current, c["path"]), "after": c["before"]}
                for c in changes
            ]
            rev = self._add_revision(
                s, principal, target.scope, "rollback", restore, rolls_back=target.id
            )
            self._rollback_event(s, principal, target, rev)
            return revision_public(rev)

    def revisions(
        self, principal: Principal, scope: str | None, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        if scope is not None:
            check_scope(scope)
        if cursor is not None and not cursor.isdigit():
            raise Unprocessable("The cursor is not one this API returned.", code="bad_cursor")
        with self.db.read() as s:
            if scope is not None:
                self._check_visible(s, principal, scope)
            elif not principal.is_owner:
                scope = f"user:{principal.user_id}"
            rows = self.store.page(s, scope, int(cursor) if cursor else None, limit + 1)
            data = [revision_public(r) for r in rows[:limit]]
        next_cursor = str(rows[limit - 1].seq) if len(rows) > limit else None
        return {"data": data, "next_cursor": next_cursor}

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def _owner(principal: Principal) -> None:
        if not principal.is_owner:
            raise Forbidden(
                "Only the owner commits or rolls back configuration.", code="owner_only"
            )

    def _add_revision(
        self,
        s: Session,
        principal: Principal,
        scope: str,
        kind: str,
        changes: list[dict[str, Any]],
        *,
        patch_id: str | None = None,
        rolls_back: str | None = None,
    ) -> ConfigRevision:
        rev = ConfigRevision(
            id=new_id("rev"),
            seq=self.store.next_seq(s),
            scope=scope,
            kind=kind,
            patch_id=patch_id,
            rolls_back=rolls_back,
            changes=json.dumps(changes),
            committed_by=principal.user_id,
            created_at=now_text(),
        )
        s.add(rev)
        s.flush()
        return rev

    def _event(
        self,
        s: Session,
        principal: Principal,
        phase: str,
        patch: ConfigPatch,
        revision: ConfigRevision | None = None,
    ) -> None:
        payload: dict[str, Any] = {
            "phase": phase,
            "patch_id": patch.id,
            "scope": patch.scope,
            "text": patch.text,
            "risk": patch.risk,
            "ops": json.loads(patch.ops),
            "diff": json.loads(patch.changes),
            "rationale": patch.rationale,
            "base_revision": patch.base_revision,
            "intents": json.loads(patch.intents),
            "at": patch.created_at,
        }
        if revision is not None:
            payload["revision_id"] = revision.id
            payload["at"] = revision.created_at
        self.ledger.append(s, NewEvent(EventType.PATCH, payload, actor=principal.actor))

    def _rollback_event(
        self, s: Session, principal: Principal, target: ConfigRevision, rev: ConfigRevision
    ) -> None:
        payload = {
            "phase": "rolled_back",
            "revision_id": rev.id,
            "rolls_back": target.id,
            "scope": target.scope,
            "changes": json.loads(rev.changes),
            "at": rev.created_at,
        }
        self.ledger.append(s, NewEvent(EventType.PATCH, payload, actor=principal.actor))


def _get(config: dict[str, Any], path: str) -> Any:
    section, name = path.strip("/").split("/", 1)
    return config.get(section, {}).get(name)


__all__ = ["SYSTEM", "ConfigService", "Effective"]
