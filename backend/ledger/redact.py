"""Keep secrets out of the ledger: values under secret-looking keys, and strings that look
like credentials (bearer headers, API keys, Steward tokens), become `[redacted]`."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"^(.*[_-])?(token|secret|password|passwd|api[_-]?key|authorization|credentials?|"
    r"private[_-]?key|cookie)$",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"(?i:bearer)\s+[A-Za-z0-9._~+/=\-]{8,}"
    r"|\bsk-[A-Za-z0-9_\-]{16,}"
    r"|\bstw_[A-Za-z0-9_\-]{16,}"
    r"|\b(?:ghp|gho|xox[abp])_?[A-Za-z0-9\-]{16,}"
)


def redact(value: Any) -> Any:
    """A copy of `value` with secrets replaced."""
    if isinstance(value, dict):
        return {
            k: REDACTED if _SECRET_KEY.match(str(k)) and v not in (None, "") else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value
