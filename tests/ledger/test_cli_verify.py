"""`steward ledger verify`: the chain checked offline, from the database file alone."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner, Result

from backend.cli import app
from backend.ledger.events import EventType, NewEvent
from backend.ledger.store import LedgerStore
from backend.storage.db import Database
from tests.databases import cli_env, drop_ledger_guard

runner = CliRunner()


def _ledger(database_url: str, events: int) -> Database:
    db = Database(database_url)
    db.migrate()
    with db.write() as s:
        for i in range(events):
            LedgerStore().append(s, NewEvent(EventType.INPUT, {"i": i}, conversation_id="c"))
    return db


def _verify(data_dir: Path, database_url: str) -> Result:
    """`steward ledger verify` as an operator runs it, with Edge's environment."""
    args = ["ledger", "verify", "--data-dir", str(data_dir)]
    return runner.invoke(app, args, env=cli_env(database_url))


def test_an_intact_ledger_verifies(tmp_path: Path, database_url: str) -> None:
    _ledger(database_url, 7).dispose()
    result = _verify(tmp_path / "data", database_url)
    assert result.exit_code == 0, result.output
    assert "ok: 7 events verify" in result.output


def test_an_edited_event_is_named(tmp_path: Path, database_url: str) -> None:
    db = _ledger(database_url, 5)
    with db.write() as s:
        drop_ledger_guard(s)
        s.execute(text("UPDATE ledger_events SET payload = :p WHERE seq = 4"), {"p": '{"i":9}'})
    db.dispose()
    result = _verify(tmp_path / "data", database_url)
    assert result.exit_code == 1
    assert "BROKEN at seq 4" in result.output
    assert "3 events before it verify" in result.output


def test_no_database_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ledger", "verify", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "there is no Steward database" in result.output
    assert not (tmp_path / "none").exists()
