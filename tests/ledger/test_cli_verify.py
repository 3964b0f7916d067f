"""`steward ledger verify`: the chain checked offline, from the database file alone."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from backend.cli import app
from backend.ledger.events import EventType, NewEvent
from backend.ledger.store import LedgerStore
from backend.storage.db import Database

runner = CliRunner()


def _ledger(data_dir: Path, events: int) -> Database:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{data_dir / 'edge.db'}")
    db.migrate()
    with db.write() as s:
        for i in range(events):
            LedgerStore().append(s, NewEvent(EventType.INPUT, {"i": i}, conversation_id="c"))
    return db


def test_an_intact_ledger_verifies(tmp_path: Path) -> None:
    _ledger(tmp_path / "data", 7).dispose()
    result = runner.invoke(app, ["ledger", "verify", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert "ok: 7 events verify" in result.output


def test_an_edited_event_is_named(tmp_path: Path) -> None:
    db = _ledger(tmp_path / "data", 5)
    with db.write() as s:
        s.execute(text("DROP TRIGGER ledger_events_no_update"))
        s.execute(text("UPDATE ledger_events SET payload = :p WHERE seq = 4"), {"p": '{"i":9}'})
    db.dispose()
    result = runner.invoke(app, ["ledger", "verify", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1
    assert "BROKEN at seq 4" in result.output
    assert "3 events before it verify" in result.output


def test_no_database_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ledger", "verify", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "there is no Steward database" in result.output
    assert not (tmp_path / "none").exists()
