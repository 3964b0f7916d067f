"""The error a tool raises when it cannot do its job.

Invariant: a `ToolError` message is written for a person (what went wrong, how to fix it)
and never carries a secret (no tokens, no webhook URL); the runner records it as the failed
call's error.
"""

from __future__ import annotations

__all__ = ["ToolError"]


class ToolError(Exception):
    """A tool could not do its job; the message says why and what to do."""
