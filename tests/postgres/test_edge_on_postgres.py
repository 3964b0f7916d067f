"""Edge on the real PostgreSQL (SPEC §10), first slice: the same migrations, the agent loop,
approvals, memory and patches, the ledger append-only and verifiable, the state rebuildable
from it. The scale-out itself (several workers, SKIP LOCKED across processes, pgvector) is
the PostgreSQL issue's next step."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from backend.storage.db import Database
from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, wait_task
from tests.ledger.rebuilt import assert_rebuilds_equal


def test_edge_runs_every_core_flow_on_postgres(
    make_edge: EdgeFactory, tmp_path: Path, pg_url: str
) -> None:
    with make_edge(data_dir=tmp_path / "data", database_url=pg_url) as owner:
        task = wait_task(owner, send(owner, "hello on postgres")["task_id"])
        assert task["status"] == "completed", task
        sent = send(owner, 'tell ann [[tool:send_message {"to": "ann", "text": "hi"}]]')
        waiting = ("waiting_approval", "failed", "completed")
        assert wait_task(owner, sent["task_id"], until=waiting)["status"] == "waiting_approval"
        [approval] = owner.get("/v1/approvals", params={"status": "pending"}).json()["data"]
        r = owner.post(f"/v1/approvals/{approval['approval_id']}:reject", json={"reason": "no"})
        assert r.status_code == 200, r.text
        assert wait_task(owner, sent["task_id"])["status"] == "completed"
        fact = {"text": "The spare key is under the blue flowerpot."}
        assert owner.post("/v1/memory/write", json=fact).status_code == 201
        found = owner.post("/v1/memory/query", json={"text": "where is the spare key?"}).json()
        assert found["data"][0]["text"] == fact["text"]
        proposed = owner.post("/v1/config/patches:propose", json={"text": "be more concise"})
        commit = owner.post(f"/v1/config/patches/{proposed.json()['patch_id']}:commit", json={})
        assert commit.status_code == 201, commit.text
        verify = owner.get("/v1/audit/verify").json()
        assert verify["ok"] is True, verify
    db = Database(pg_url)
    try:
        assert_rebuilds_equal(db)
    finally:
        db.dispose()


def test_the_ledger_is_append_only_on_postgres(
    make_edge: EdgeFactory, tmp_path: Path, pg_url: str
) -> None:
    with make_edge(data_dir=tmp_path / "data", database_url=pg_url) as owner:
        wait_task(owner, send(owner, "one event or more")["task_id"])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in (
            "UPDATE ledger_events SET payload = '{}'",
            "DELETE FROM ledger_events",
            "TRUNCATE ledger_events CASCADE",
        ):
            with pytest.raises(psycopg.Error, match="ledger_events is append-only"):
                conn.execute(statement)
        (count,) = conn.execute("SELECT count(*) FROM ledger_events").fetchone() or (0,)
        assert count > 0
