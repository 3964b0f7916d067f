"""What the database's own refusals mean to a client: a full disk and a write lock held by
another process become typed errors (`backend.errors.StorageFull`, `StorageBusy`) that name
the database, say nothing was saved, and say what to do.

Invariants:
- Only refusals from outside the request are translated: SQLite's SQLITE_FULL and
  SQLITE_BUSY/SQLITE_LOCKED; PostgreSQL's `disk_full`, and as busy its `lock_not_available`
  (a lock held past `lock_timeout`), `deadlock_detected` and `serialization_failure` (the
  transaction lost a race with another process and was rolled back whole). Anything else
  keeps its type, so a real bug still surfaces as one.
- A translated error is raised after the transaction rolled back, so the request left no
  trace: retrying it once space is freed or the lock is released is safe.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from backend.errors import StorageBusy, StorageFull, StorageUnavailable

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13
_PG_DISK_FULL = "53100"
# lock_not_available, deadlock_detected, serialization_failure: retrying is safe.
_PG_BUSY = frozenset({"55P03", "40P01", "40001"})


def _kind(exc: DBAPIError) -> str | None:
    """ "full", "busy" or None for an error the database raised."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        primary = code & 0xFF  # extended codes (SQLITE_BUSY_SNAPSHOT, ...) keep the primary
        if primary == _SQLITE_FULL:
            return "full"
        return "busy" if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) else None
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate == _PG_DISK_FULL:
        return "full"
    if sqlstate in _PG_BUSY:
        return "busy"
    text = str(orig).lower()
    if "database or disk is full" in text:
        return "full"
    return "busy" if "database is locked" in text else None


class StorageFaults:
    """Translates one database's refusals into errors a person can act on."""

    def __init__(self, url: str, busy_timeout_s: float):
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, ":memory:"):
            path = Path(str(parsed.database)).resolve()
            self.database = str(path)
            self.space = f"on the disk holding {path.parent}"
        else:
            self.database = parsed.render_as_string(hide_password=True)
            self.space = "on the database server's disk"
        self.sqlite = parsed.get_backend_name() == "sqlite"
        self.busy_timeout_s = busy_timeout_s

    def translate(self, exc: DBAPIError) -> StorageUnavailable | None:
        """The typed error `exc` stands for, or None if it is not a full or busy database."""
        kind = _kind(exc)
        if kind == "full":
            return StorageFull(
                f"The disk or database is full: Steward's database ({self.database}) could not "
                "save this request, so nothing of it was kept. Free space "
                f"{self.space} (or move Steward's data folder to a larger disk), then send "
                "the request again."
            )
        if kind == "busy" and not self.sqlite:
            return StorageBusy(
                f"The database is busy: this request waited more than {self.busy_timeout_s:g}s "
                f"for a lock in Steward's database ({self.database}), or lost a race with "
                "another Steward process, so nothing of it was saved. Retry in a few seconds; "
                "if it keeps happening, look for a long transaction holding locks "
                "(pg_stat_activity)."
            )
        if kind == "busy":
            return StorageBusy(
                f"The database is busy: another process has held the write lock on Steward's "
                f"database ({self.database}) for more than {self.busy_timeout_s:g}s, so "
                "nothing of this request was saved. Retry in a few seconds; if it keeps "
                "happening, stop whatever holds the lock (an open `sqlite3` shell or a backup "
                "writing to that file)."
            )
        return None

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Re-raise a full or busy database inside the block as its typed error."""
        try:
            yield
        except DBAPIError as exc:
            error = self.translate(exc)
            if error is None:
                raise
            raise error from exc
