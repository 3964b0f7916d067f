"""`steward worker` as a user runs it: it says what it runs on, stops cleanly on SIGTERM, and
an unreachable database is an error that says what to check, not a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.agent.processes import REPO_ROOT, EdgeProcesses, edge_env
from tests.servers import free_port

COMMAND = [sys.executable, "-c", "from backend.cli import main; main()", "worker"]


def test_worker_starts_on_postgres_and_stops_on_sigterm(tmp_path: Path, pg_url: str) -> None:
    env = edge_env(tmp_path / "data", f"http://127.0.0.1:{free_port()}", database_url=pg_url)
    with EdgeProcesses(tmp_path) as procs:
        worker = procs.worker("worker", env, concurrency=3)
        worker.start(60)
        assert "running up to 3 task(s) at once" in worker.log_tail()
        assert worker.proc is not None
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.proc.wait(timeout=20) == 0
        assert "stopping; tasks it held are taken over" in worker.log_tail()


def test_worker_explains_an_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/steward"
    env = edge_env(tmp_path / "data", f"http://127.0.0.1:{free_port()}", database_url=url)
    done = subprocess.run(
        COMMAND, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert "cannot use the database" in done.stderr
    assert "DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr
