"""The drift guard other tests call after their own scenario: the state the ledger explains
(`backend.ledger.projection`) equals the live state the services wrote."""

from __future__ import annotations

import tempfile
from pathlib import Path

from backend.ledger.rebuild import rebuild
from backend.storage.db import Database


def assert_rebuilds_equal(live: Database | str) -> None:
    """Rebuild from the ledger of `live` (a database, or its URL) and fail the test listing
    the differences, if any."""
    db = live if isinstance(live, Database) else Database(live)
    try:
        with tempfile.TemporaryDirectory(prefix="steward-rebuilt-") as tmp:
            report = rebuild(db, Path(tmp) / "rebuilt.db")
    finally:
        if db is not live:
            db.dispose()
    listed = "\n".join(d.describe() for d in report.differences[:20])
    assert report.equal, f"{len(report.differences)} difference(s):\n{listed}"
