"""Words shared by the markdown and html renderings, so both say the same thing.

Every function returns plain, unescaped text; each renderer escapes it for its format.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["actor", "duration", "integrity_sentence", "integrity_title", "plain", "usage"]

NONE = "—"


def plain(value: Any) -> str:
    """`value` as display text: `—` for nothing, lists comma-separated, objects as JSON."""
    if value is None or value == "":
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value) or NONE
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def actor(value: dict[str, Any] | None) -> str:
    """`usr_1 (owner)`, or `system`."""
    if not value:
        return NONE
    if value.get("id") == value.get("role"):
        return str(value.get("id"))
    return f"{value.get('id')} ({value.get('role')})"


def duration(ms: Any) -> str:
    """`12.3 ms`, `4.56 s`, or `—`."""
    if not isinstance(ms, int | float):
        return NONE
    return f"{ms / 1000:.2f} s" if ms >= 10_000 else f"{ms:g} ms"


def usage(value: dict[str, Any]) -> str:
    """Token counts over the task's model calls."""
    return (
        f"{value.get('total_tokens', 0)} tokens ({value.get('prompt_tokens', 0)} prompt, "
        f"{value.get('completion_tokens', 0)} completion) over "
        f"{value.get('model_calls', 0)} model call(s)"
    )


def integrity_title(integrity: dict[str, Any]) -> str:
    """`Integrity: verified` or `Integrity: NOT verified`."""
    return "Integrity: verified" if integrity.get("verified") else "Integrity: NOT verified"


def integrity_sentence(integrity: dict[str, Any]) -> str:
    """What the check found, in one sentence."""
    checked = integrity.get("checked", 0)
    if integrity.get("verified"):
        return (
            f"All {checked} events verified: each hash recomputes from its content and links "
            "to the events before and after it in the ledger's chain."
        )
    broken = integrity.get("first_broken") or {}
    return (
        f"The integrity check failed at event seq {broken.get('seq')} "
        f"({broken.get('event_id')}, {broken.get('type')}): {broken.get('reason')}. "
        f"{checked} events were in scope; this report may not reflect what was recorded."
    )
