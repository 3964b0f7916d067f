"""The hash chain: `hash = SHA-256(prev_hash || canonical(event))`.

The canonical form is JSON with sorted keys, no insignificant white space and UTF-8 text, over
every envelope field but `hash` itself. Changing any field of any event, reordering events or
removing one breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    """Deterministic JSON text of `obj`."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, envelope: dict[str, Any]) -> str:
    """The hash of an event given its predecessor's hash and its envelope (without `hash`)."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode())
    digest.update(canonical(envelope).encode())
    return digest.hexdigest()
