"""Scopes and layers: how the effective configuration is built.

Effective config = the seed, then `global` revisions, then `user:{id}` revisions, then
`conversation:{id}` revisions, each layer in commit order. A revision records field-level
changes (`{path, before, after}` with paths `/section/field`); applying a layer sets each
path to its `after`. Field-level changes (rather than raw list-element ops) keep layers
independent of one another's list positions.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from backend.errors import Unprocessable

_SCOPE = re.compile(r"^(global|user:[A-Za-z0-9_\-]{1,80}|conversation:[A-Za-z0-9_\-]{1,80})$")


def check_scope(scope: str) -> str:
    """`scope` if well-formed, else a 422 saying what scopes look like."""
    if not _SCOPE.match(scope):
        raise Unprocessable(
            f"'{scope}' is not a scope: use 'global', 'user:<user id>' or "
            "'conversation:<conversation id>'.",
            code="bad_scope",
        )
    return scope


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Every `/section/field` whose value differs, with its before and after."""
    changes = []
    for section, fields in after.items():
        for name, value in fields.items():
            old = before.get(section, {}).get(name)
            if old != value:
                changes.append({"path": f"/{section}/{name}", "before": old, "after": value})
    return changes


def apply_changes(
    config: dict[str, Any], changes: list[dict[str, Any]], key: str = "after"
) -> dict[str, Any]:
    """A copy of `config` with each change's `key` value set at its path."""
    out = copy.deepcopy(config)
    for change in changes:
        section, name = change["path"].strip("/").split("/", 1)
        out.setdefault(section, {})[name] = copy.deepcopy(change[key])
    return out
