"""The security log: every refused request, one JSON line each, in `<data dir>/security.log`
(rotating) and on the `steward.edge.security` logger.

Invariants:
- A line holds the time, method, path, client address, the principal's id (when the token
  was valid), the status and the reason (the error's stable `code`). Nothing else from the
  request: never a header, a body, a query string or a token.
- The client address is the TCP peer as the server saw it. Steward's servers run without
  proxy-header rewriting, so an `X-Forwarded-For` a client sends changes nothing here.
- Writing a line never fails the request: a full disk costs the line, not the answer.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from pathlib import Path
from typing import Any

from starlette.types import Scope

from backend.clock import now_text

__all__ = ["RECORDED_STATUSES", "SecurityLog", "remember_principal"]

log = logging.getLogger("steward.edge.security")
RECORDED_STATUSES = frozenset({401, 403, 421})
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 3
PRINCIPAL_KEY = "principal_id"


class SecurityLog:
    """Appends refusals to one Edge's `security.log`."""

    def __init__(self, path: Path):
        self.path = path
        # Opened for each line and closed after it: refusals are rare, and no file stays
        # open when the app is gone.
        self._file = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )

    def refused(self, scope: Scope, status: int, reason: str) -> None:
        """Record that the request in `scope` was refused with `status` for `reason`."""
        client = scope.get("client")
        entry: dict[str, Any] = {
            "time": now_text(),
            "method": scope.get("method", ""),
            "path": scope.get("path", ""),
            "client": client[0] if client else None,
            "principal_id": scope.get("state", {}).get(PRINCIPAL_KEY),
            "status": status,
            "reason": reason,
        }
        line = json.dumps(entry, ensure_ascii=False)
        log.warning(line)
        record = logging.makeLogRecord({"msg": line, "levelno": logging.WARNING})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file.handle(record)
        except OSError:
            log.exception("security log: could not write %s", self.path)
        finally:
            self._file.close()


def remember_principal(scope: Scope, principal_id: str) -> None:
    """Note who the request's token belongs to, for a refusal recorded later."""
    scope.setdefault("state", {})[PRINCIPAL_KEY] = principal_id
