"""Who this process is, and whether another process recorded in the database still lives.

An owner id is `host/pid/instance`. On this host, a pid that no longer exists (or is ours
but with another instance id, i.e. a previous life of a reused pid) is dead; a process on
another host is presumed alive until its lease expires.
"""

from __future__ import annotations

import os
import socket
import uuid

HOST = socket.gethostname()


def new_owner_id() -> str:
    """A fresh owner id for this process (one per worker pool / tool runner)."""
    return f"{HOST}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_dead(owner: str | None, *, ours: str) -> bool:
    """Whether `owner` is certainly a process that no longer runs (never true for `ours`)."""
    if not owner or owner == ours:
        return False
    host, _, rest = owner.partition("/")
    pid_text, _, instance = rest.partition("/")
    if host != HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    _, _, our_rest = ours.partition("/")
    our_pid, _, our_instance = our_rest.partition("/")
    if pid_text == our_pid:
        return instance != our_instance
    return not _pid_alive(pid)
