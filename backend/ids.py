"""Opaque ids with a short type prefix (`task_`, `conv_`, `evt_` ...)."""

from __future__ import annotations

import re
import secrets

ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,80}$")


def new_id(prefix: str) -> str:
    """A fresh random id such as `task_3f9c2a...`."""
    return f"{prefix}_{secrets.token_hex(10)}"
