"""A SQLite ledger's hashes checked by a second process while the rebuild runs: the same
verdicts as checking them in the rebuilding process."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from backend.ledger.events import EventType, NewEvent
from backend.ledger.rebuild import ChainBroken, rebuild
from backend.ledger.store import LedgerStore
from backend.storage.db import Database


def _ledger(path: Path, edit: str | None = None) -> Database:
    db = Database(f"sqlite:///{path}")
    db.migrate()
    with db.write() as s:
        for i in range(5):
            LedgerStore().append(s, NewEvent(EventType.INPUT, {"i": i}, conversation_id="c"))
    if edit is not None:
        with db.write() as s:
            s.execute(text("DROP TRIGGER ledger_events_no_update"))
            s.execute(text("UPDATE ledger_events SET payload = :p WHERE seq = 3"), {"p": edit})
    return db


@pytest.mark.parametrize("beside_from", [0, 10**9], ids=["second-process", "in-process"])
def test_an_intact_ledger_rebuilds_equal(tmp_path: Path, beside_from: int) -> None:
    db = _ledger(tmp_path / "edge.db")
    report = rebuild(db, tmp_path / "rebuilt.db", beside_from=beside_from)
    db.dispose()
    assert report.equal
    assert report.events == 5
    assert ("verify_wait" in report.seconds) is (beside_from == 0)


@pytest.mark.parametrize("beside_from", [0, 10**9], ids=["second-process", "in-process"])
def test_an_edited_event_breaks_the_rebuild_at_its_seq(tmp_path: Path, beside_from: int) -> None:
    db = _ledger(tmp_path / "edge.db", edit='{"i":99}')
    with pytest.raises(ChainBroken) as broken:
        rebuild(db, tmp_path / "rebuilt.db", beside_from=beside_from)
    db.dispose()
    assert broken.value.where["seq"] == 3
    assert "does not verify" in broken.value.where["reason"]


def test_a_payload_stored_with_other_white_space_still_verifies_beside(tmp_path: Path) -> None:
    # The second process's fast path assumes canonical payload text; the exact check that
    # `ledger verify` makes accepts an equivalent text, and so must it.
    db = _ledger(tmp_path / "edge.db", edit='{"i": 2}')
    report = rebuild(db, tmp_path / "rebuilt.db", beside_from=0)
    db.dispose()
    assert report.equal
