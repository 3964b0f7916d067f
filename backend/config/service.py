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
- Every step is a `PatchEvent` in the same transaction; its projection
  (`backend.ledger.projection.config`) writes the seed, patch and revision rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

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

_Row = TypeVar("_Row", ConfigPatch, ConfigRevision)


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
            if self.store.seeded(s):
                return
            # The event stores the seed and its revision (backend.ledger.projection.config).
            self.ledger.append(
                s,
                NewEvent(
                    EventType.PATCH,
                    {"phase": "seeded", "revision_id": new_id("rev"), "seed": seed(), "at": now},
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
            patch = self._propose(
                s,
                principal,
                scope=scope,
                text=text,
                ops=compiled.ops,
                diff=field_changes(eff.data, after),
                risk=compiled.risk,
                rationale=compiled.rationale,
                intents=compiled.intents,
                base_revision=eff.revision,
            )
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
            patch = self._propose(
                s,
                principal,
                scope=scope,
                text=text,
                ops=ops,
                diff=changes,
                risk=risk,
                rationale=rationale,
                intents=["model_fallback"],
                base_revision=eff.revision,
            )
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
            rev = self._committed(s, principal, patch)
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
            rev = self._rolled_back(s, principal, target, restore)
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

    # The events below make the rows (backend.ledger.projection.config): a patch when it is
    # proposed, its revision when it is committed, a revision for each rollback.

    def _propose(
        self,
        s: Session,
        principal: Principal,
        *,
        scope: str,
        text: str,
        ops: list[dict[str, Any]],
        diff: list[dict[str, Any]],
        risk: str,
        rationale: str,
        intents: list[str],
        base_revision: str | None,
    ) -> ConfigPatch:
        patch_id = new_id("pat")
        payload: dict[str, Any] = {
            "phase": "proposed",
            "patch_id": patch_id,
            "scope": scope,
            "text": text,
            "risk": risk,
            "ops": ops,
            "diff": diff,
            "rationale": rationale,
            "base_revision": base_revision,
            "intents": intents,
            "at": now_text(),
        }
        self.ledger.append(s, NewEvent(EventType.PATCH, payload, actor=principal.actor))
        return self._made(s, ConfigPatch, patch_id)

    def _committed(self, s: Session, principal: Principal, patch: ConfigPatch) -> ConfigRevision:
        revision_id = new_id("rev")
        payload: dict[str, Any] = {
            "phase": "committed",
            "patch_id": patch.id,
            "scope": patch.scope,
            "text": patch.text,
            "risk": patch.risk,
            "ops": json.loads(patch.ops),
            "diff": json.loads(patch.changes),
            "rationale": patch.rationale,
            "base_revision": patch.base_revision,
            "intents": json.loads(patch.intents),
            "revision_id": revision_id,
            "at": now_text(),
        }
        self.ledger.append(s, NewEvent(EventType.PATCH, payload, actor=principal.actor))
        return self._made(s, ConfigRevision, revision_id)

    def _rolled_back(
        self,
        s: Session,
        principal: Principal,
        target: ConfigRevision,
        restore: list[dict[str, Any]],
    ) -> ConfigRevision:
        revision_id = new_id("rev")
        payload = {
            "phase": "rolled_back",
            "revision_id": revision_id,
            "rolls_back": target.id,
            "scope": target.scope,
            "changes": restore,
            "at": now_text(),
        }
        self.ledger.append(s, NewEvent(EventType.PATCH, payload, actor=principal.actor))
        return self._made(s, ConfigRevision, revision_id)

    @staticmethod
    def _made(s: Session, model: type[_Row], key: str) -> _Row:
        row = s.get(model, key)
        if row is None:
            raise RuntimeError(f"the ledger's projection did not make {model.__name__} {key}")
        return row


def _get(config: dict[str, Any], path: str) -> Any:
    section, name = path.strip("/").split("/", 1)
    return config.get(section, {}).get(name)


__all__ = ["SYSTEM", "ConfigService", "Effective"]
