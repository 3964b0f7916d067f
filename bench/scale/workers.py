"""Whole tasks through `steward worker` processes: Core on its mock backend (instant answers)
in its own process, tasks queued beforehand in many lanes, then N workers of 4 lanes each.
Each task is what a message costs Edge: claim, plan, route, recall (an embedding call),
the streamed completion, the reply, every event on the hash chain. Throughput is counted
from the moment the last worker is ready until 95% of the tasks are done, so start-up is
left out and the tail, where fewer lanes than workers remain, too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select

from backend.storage.db import Database
from backend.storage.models import Task
from bench.scale.claims import submit
from tests.agent.conftest import OWNER_TOKEN

REPO = Path(__file__).resolve().parents[2]
READY = b"running up to"
CONCURRENCY = 4
_QUIET = ("--log-level", "warning")


@dataclass(frozen=True)
class WorkerRun:
    """`workers` processes finished `done` tasks in `seconds` of the measured window."""

    label: str
    workers: int
    done: int
    seconds: float
    before_ready: int

    @property
    def per_second(self) -> float:
        return self.done / self.seconds


def _env(url: str, core_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEWARD_", "CORE_"))}
    env.update(
        DATABASE_URL=url,
        CORE_BASE_URL=core_url,
        STEWARD_DATA_DIR=str(data_dir),
        STEWARD_OWNER_TOKEN=OWNER_TOKEN,
        OPENBLAS_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


class Core:
    """Core on the mock backend, in its own process."""

    def __init__(self, port: int, log: Path, delay_s: float = 0.0):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORE_")}
        env.update(CORE_BACKEND="mock", CORE_MOCK_STREAM_DELAY_S=str(delay_s))
        self.url = f"http://127.0.0.1:{port}"
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "core.api:app", "--port", str(port), *_QUIET],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"Core did not start; see {log}")

    def answer_seconds(self) -> float:
        """How long one streamed answer to a benchmark task takes end to end."""
        question = {"role": "user", "content": "task 0 of lane 0000"}
        body = {"model": "mock", "stream": True, "messages": [question]}
        started = time.perf_counter()
        with httpx.stream("POST", f"{self.url}/v1/chat/completions", json=body, timeout=60) as r:
            for _ in r.iter_bytes():
                pass
        return time.perf_counter() - started

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self._log.close()


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    code = "from backend.cli import main; main()"
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code, "worker", "--concurrency", str(CONCURRENCY)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _completed(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).where(Task.status == "completed")) or 0)


def run(
    label: str, url: str, workers: int, core: Core, tmp: Path, lanes: int, per_lane: int
) -> WorkerRun:
    """Queue `lanes * per_lane` tasks in a fresh database at `url`, run them with `workers`
    worker processes and measure."""
    total = submit(url, lanes, per_lane)
    env = _env(url, core.url, tmp / f"data-{label}-{workers}")
    logs = [tmp / f"worker-{label}-{workers}-{i}.log" for i in range(workers)]
    procs = [_start_worker(env, log) for log in logs]
    db = Database(url)
    try:
        deadline = time.monotonic() + 120
        while not all(log.exists() and READY in log.read_bytes() for log in logs):
            for proc, log in zip(procs, logs, strict=True):
                if proc.poll() is not None:
                    raise RuntimeError(f"a worker exited with {proc.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers not ready within 120 s; see {logs}")
            time.sleep(0.02)
        started, before = time.perf_counter(), _completed(db)
        target = int(total * 0.95)
        done = before
        while done < target:
            time.sleep(0.05)
            done = _completed(db)
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"only {done} of {total} tasks done after 600 s")
        seconds = time.perf_counter() - started
        return WorkerRun(label, workers, done - before, seconds, before)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        db.dispose()
